/**
 * Distributed benchmark: `chat4all api` ×2 and `chat4all worker` ×2 as separate processes on
 * PostgreSQL, Kafka and Redis (the same machine as the load generator). Prints the core
 * benchmark's figures for this topology — sustained accepted msg/s (the knee), accept latency
 * p50/p99 and end-to-end latency POST → recipient WebSocket at 1,000 msg/s — plus the pipeline
 * latency POST → the sender's `sent` status (outbox relay → Kafka → router → Redis).
 * Every recipient listens on the other API instance than the one its messages are posted to.
 *
 *   eval "$(scripts/services.sh up kafka redis pg)"
 *   npm run bench:distributed [-- --seconds 10 --recipients 500 --rates 1000,1500,2000]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { startDeployment, type Deployment } from '../test/support/deployment.ts';
import { fmt, openLoop, percentile, post } from './load.ts';

const { values } = parseArgs({
  options: {
    recipients: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    rates: { type: 'string', default: '1000,1500,2000,2500,3000,4000' },
  },
});
const RECIPIENTS = Number(values.recipients);
const SECONDS = Number(values.seconds);
const RATES = String(values.rates).split(',').map(Number);

function rssMb(pid: number | undefined): number {
  const m = pid ? /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) : null;
  return m ? Number(m[1]) / 1024 : NaN;
}

/** A recipient in a private conversation with the sender; its messages go through API `api`, it listens on the other. */
interface Recipient { conversationId: number; api: number; socket: WebSocket }

async function setUp(d: Deployment, track: (frame: { type: string; message_id: string; status?: string }) => void) {
  const sender = await d.user('bench');
  const suffix = randomUUID().slice(0, 6);
  const recipients: Recipient[] = [];
  for (let i = 0; i < RECIPIENTS; i += 25) {
    recipients.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(25, RECIPIENTS - i) }, async (_, j) => {
          const k = i + j;
          const api = k % 2;
          const username = `b${k}_${suffix}`;
          const reg = await d.request(1 - api, 'POST', '/auth/register', { body: { username, password: 'password123' } });
          const token = (await d.request(1 - api, 'POST', '/auth/token', { body: { username, password: 'password123' } })).body.access_token;
          const conv = await d.request(api, 'POST', '/v1/conversations', { token: sender.token, body: { type: 'private', member_ids: [reg.body.user_id] } });
          return { conversationId: conv.body.conversation_id as number, api, socket: await listen(d.wsUrl(1 - api, token), track) };
        }),
      )),
    );
  }
  await listen(d.wsUrl(0, sender.token), track);
  return { sender, recipients };
}

function listen(url: string, onFrame: (frame: { type: string; message_id: string; status?: string }) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('message', (data) => onFrame(JSON.parse(String(data))));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function main(): Promise<void> {
  const kafkaBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, node ${process.version}`);
  console.log(`topology: 2 × chat4all api + 2 × chat4all worker; Kafka ${kafkaBrokers.join(',')}, Redis ${redisUrl}, PostgreSQL ${new URL(postgresUrl).host}`);
  const d = await startDeployment({ postgresUrl, kafkaBrokers, redisUrl, env: { DATABASE_POOL_SIZE: '10', LOG_LEVEL: 'warn', CONNECTOR_MOCK_LATENCY_MS: '50', DELIVERY_LEASE_MS: '30000' } });
  try {
    const sentAt = new Map<string, number>();
    const e2e: number[] = [];
    const pipeline: number[] = [];
    const { sender, recipients } = await setUp(d, (f) => {
      const t0 = sentAt.get(f.message_id);
      if (t0 === undefined) return;
      if (f.type === 'message.created') e2e.push(performance.now() - t0);
      else if (f.type === 'message.status' && f.status === 'sent') pipeline.push(performance.now() - t0);
    });
    console.log(`${recipients.length} recipients connected, each on the other instance than its sender's`);

    let firstError: string | undefined;
    const send = (i: number, isTracked: boolean) => {
      const r = recipients[i % recipients.length];
      const id = randomUUID();
      if (isTracked) sentAt.set(id, performance.now());
      const body = { message_id: id, conversation_id: r.conversationId, payload: { type: 'text', content: `bench ${i}` } };
      return post(`${d.apis[r.api].url}/v1/messages`, body, sender.token).then((res) => {
        if (res.status !== 202 && !firstError) firstError = `${res.status} ${res.body}`;
        return res.status === 202;
      });
    };

    await openLoop(500, 2, (i) => send(i, false));
    const at1k = await openLoop(1000, SECONDS, (i) => send(i, true));
    await new Promise((r) => setTimeout(r, 3000));
    e2e.sort((a, b) => a - b);
    pipeline.sort((a, b) => a - b);
    console.log(`at 1000 msg/s for ${SECONDS}s: accepted ${at1k.accepted}/${at1k.sent} (${fmt(at1k.acceptedPerSecond)}/s), accept p50 ${fmt(at1k.p50)} ms p99 ${fmt(at1k.p99)} ms`);
    console.log(`  end-to-end POST → recipient socket on the other instance: n=${e2e.length} p50 ${fmt(percentile(e2e, 50))} ms p99 ${fmt(percentile(e2e, 99))} ms`);
    console.log(`  pipeline POST → sender's 'sent' (relay → Kafka → router → Redis): n=${pipeline.length} p50 ${fmt(percentile(pipeline, 50))} ms p99 ${fmt(percentile(pipeline, 99))} ms`);

    let knee = 0;
    for (const rate of RATES) {
      const step = await openLoop(rate, Math.max(3, Math.floor(SECONDS / 2)), (i) => send(i, false));
      const isKeepingUp = step.acceptedPerSecond >= rate * 0.95 && step.errors === 0 && step.p99 < 1000;
      console.log(`offered ${rate}/s: accepted ${fmt(step.acceptedPerSecond)}/s, errors ${step.errors}, p50 ${fmt(step.p50)} ms, p99 ${fmt(step.p99)} ms${isKeepingUp ? '' : '  ← saturated'}`);
      if (isKeepingUp) knee = Math.max(knee, step.acceptedPerSecond);
      else break;
    }
    const [backlog] = await d.sql(`SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL`);
    const [unrouted] = await d.sql(`SELECT count(*)::int AS n FROM messages WHERE routed_at IS NULL`);
    if (firstError) console.log(`first error: ${firstError}`);
    console.log(`sustained accepted msg/s (knee): ${fmt(knee)}; right after the last step: outbox backlog ${backlog.unpublished}, unrouted messages ${unrouted.n}`);
    console.log(`RSS MiB: api ${d.apis.map((p) => fmt(rssMb(p.child.pid))).join(' / ')}, worker ${d.workers.map((p) => fmt(rssMb(p.child.pid))).join(' / ')}`);
    for (const r of recipients) r.socket.close();
  } finally {
    await d.close();
  }
}

await main();
process.exit(0);
