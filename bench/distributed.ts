/**
 * Distributed benchmark: `chat4all api` ×2 and `chat4all worker` ×2 (`--workers N`) as separate processes on
 * PostgreSQL, Kafka and Redis (the same machine as the load generator). Prints the core
 * benchmark's figures for this topology — sustained accepted msg/s (the knee), accept latency
 * p50/p99 and end-to-end latency send (a POST, or a `send` frame with `--transport ws`) → recipient
 * WebSocket at 1,000 msg/s (and at 500) — plus the pipeline latency send → the sender's `sent`
 * status (outbox relay → Kafka → router → Redis)
 * and the CPU each part of the system spends per message.
 * Every recipient listens on the other API instance than the one its messages are posted to.
 *
 *   eval "$(scripts/services.sh up kafka redis pg)"
 *   npm run bench:distributed [-- --seconds 10 --recipients 500 --rates 1000,1500,2000 --workers 2 --transport http|ws]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { startDeployment, type Deployment } from '../test/support/deployment.ts';
import { fmt, openLoop, percentile, pidsMatching, post } from './load.ts';
import { openWsSender } from './ws-sender.ts';

const { values } = parseArgs({
  options: {
    recipients: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    rates: { type: 'string', default: '250,500,750,1000,1500,2000,2500,3000,4000' },
    workers: { type: 'string', default: '2' },
    transport: { type: 'string', default: 'http' },
  },
});
const TRANSPORT = values.transport as 'http' | 'ws';
if (TRANSPORT !== 'http' && TRANSPORT !== 'ws') throw new Error(`--transport must be http or ws, not ${values.transport}`);
/** Sender sockets per API with `--transport ws` (plus the sender's one listening socket). */
const WS_SENDERS_PER_API = 4;
const RECIPIENTS = Number(values.recipients);
const SECONDS = Number(values.seconds);
const RATES = String(values.rates).split(',').map(Number);

function rssMb(pid: number | undefined): number {
  const m = pid ? /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) : null;
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The process listening on a local TCP port (e.g. the Kafka broker we use, not another one on the machine). */
function listenerPid(port: string): number[] {
  const out = execFileSync('ss', ['-Htlnp', `sport = :${port}`], { encoding: 'utf8' });
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

/**
 * CPU used by each part of the system while `work` runs: our processes, our database's backends
 * (plus PostgreSQL's shared background processes), the Kafka broker and Redis we use (which other
 * work on the machine may share).
 */
async function cpuDuring<T>(d: Deployment, kafkaPort: string, work: () => Promise<T>): Promise<{ result: T; cpu: Record<string, number> }> {
  const database = new URL(d.env.DATABASE_URL).pathname.slice(1);
  const parts: Record<string, number[]> = {
    api: d.apis.map((p) => p.child.pid ?? 0),
    worker: d.workers.map((p) => p.child.pid ?? 0),
    postgres: pidsMatching(new RegExp(`^postgres: .*(${database} |walwriter|checkpointer|background writer)`)),
    kafka: listenerPid(kafkaPort),
    redis: pidsMatching(/redis-server/),
    'load generator': [process.pid],
  };
  const total = () => Object.fromEntries(Object.entries(parts).map(([k, pids]) => [k, pids.reduce((n, pid) => n + cpuSeconds(pid), 0)]));
  const before = total();
  const result = await work();
  const after = total();
  return { result, cpu: Object.fromEntries(Object.keys(parts).map((k) => [k, after[k] - before[k]])) };
}

/** A recipient in a private conversation with the sender; its messages go through API `api`, it listens on the other. */
interface Recipient {
  conversationId: number;
  api: number;
  socket: WebSocket;
}

type Frame = { type: string; message_id: string; status?: string };

async function setUp(d: Deployment, onRecipientFrame: (frame: Frame) => void, onSenderFrame: (frame: Frame) => void) {
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
          return { conversationId: conv.body.conversation_id as number, api, socket: await listen(d.wsUrl(1 - api, token), onRecipientFrame) };
        }),
      )),
    );
  }
  await listen(d.wsUrl(0, sender.token), onSenderFrame);
  return { sender, recipients };
}

function listen(url: string, onFrame: (frame: Frame) => void): Promise<WebSocket> {
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
  console.log(
    `topology: 2 × chat4all api + ${values.workers} × chat4all worker; senders over ${TRANSPORT}; Kafka ${kafkaBrokers.join(',')}, Redis ${redisUrl}, PostgreSQL ${new URL(postgresUrl).host}`,
  );
  const d = await startDeployment({
    workers: Number(values.workers),
    postgresUrl,
    kafkaBrokers,
    redisUrl,
    env: {
      DATABASE_POOL_SIZE: '10',
      LOG_LEVEL: 'warn',
      CONNECTOR_MOCK_LATENCY_MS: '50',
      DELIVERY_LEASE_MS: '30000',
      ...(TRANSPORT === 'ws' ? { WS_MAX_PER_USER: String(2 * WS_SENDERS_PER_API + 2), WS_FRAMES_PER_SECOND: '100000' } : {}),
    },
  });
  try {
    const sentAt = new Map<string, number>();
    const e2e: number[] = [];
    const pipeline: number[] = [];
    const since = (f: Frame) => performance.now() - (sentAt.get(f.message_id) ?? NaN);
    const { sender, recipients } = await setUp(
      d,
      (f) => void (f.type === 'message.created' && sentAt.has(f.message_id) && e2e.push(since(f))),
      (f) => void (f.type === 'message.status' && f.status === 'sent' && sentAt.has(f.message_id) && pipeline.push(since(f))),
    );
    console.log(`${recipients.length} recipients connected, each on the other instance than its sender's`);

    let firstError: string | undefined;
    // With `--transport ws`, a few sockets per API send (`send` frames); they leave the
    // conversations they send to, so that they are not also pushed every message.
    const wsSenders =
      TRANSPORT === 'ws'
        ? await Promise.all(
            d.apis.map((api, a) =>
              openWsSender(
                api.url,
                sender.token,
                WS_SENDERS_PER_API,
                recipients.filter((r) => r.api === a).map((r) => r.conversationId),
              ),
            ),
          )
        : undefined;
    const send = (i: number, isTracked: boolean) => {
      const r = recipients[i % recipients.length];
      const id = randomUUID();
      if (isTracked) sentAt.set(id, performance.now());
      const body = { message_id: id, conversation_id: r.conversationId, payload: { type: 'text', content: `bench ${i}` } };
      if (wsSenders) {
        return wsSenders[r.api].send(Buffer.from(JSON.stringify(body))).then((answer) => {
          if (!answer.ok && !firstError) firstError = answer.error;
          return answer.ok;
        });
      }
      return post(`${d.apis[r.api].url}/v1/messages`, body, sender.token).then((res) => {
        if (res.status !== 202 && !firstError) firstError = `${res.status} ${res.body}`;
        return res.status === 202;
      });
    };

    // Four processes, a JVM and the database need longer than one process to warm up (JIT, caches, pools).
    await openLoop(500, 5, (i) => send(i, false));
    const kafkaPort = kafkaBrokers[0].split(':')[1] ?? '9092';
    for (const rate of [500, 1000]) {
      e2e.length = 0;
      pipeline.length = 0;
      const [walBefore] = await d.sql('SELECT pg_current_wal_lsn() AS lsn');
      const { result: step, cpu } = await cpuDuring(d, kafkaPort, async () => {
        const result = await openLoop(rate, SECONDS, (i) => send(i, true));
        await new Promise((r) => setTimeout(r, 3000)); // the pipeline finishes the step's messages
        return result;
      });
      sentAt.clear();
      e2e.sort((a, b) => a - b);
      pipeline.sort((a, b) => a - b);
      console.log(
        `at ${rate} msg/s for ${SECONDS}s: accepted ${step.accepted}/${step.sent} (${fmt(step.acceptedPerSecond)}/s), accept p50 ${fmt(step.p50)} ms p99 ${fmt(step.p99)} ms`,
      );
      console.log(
        `  end-to-end send → recipient socket on the other instance: n=${e2e.length} p50 ${fmt(percentile(e2e, 50))} ms p99 ${fmt(percentile(e2e, 99))} ms`,
      );
      console.log(
        `  pipeline send → sender's 'sent' (relay → Kafka → router → Redis): n=${pipeline.length} p50 ${fmt(percentile(pipeline, 50))} ms p99 ${fmt(percentile(pipeline, 99))} ms`,
      );
      console.log(
        `  CPU per accepted message (ms): ${Object.entries(cpu)
          .map(([k, t]) => `${k} ${((t * 1000) / step.accepted).toFixed(3)}`)
          .join(', ')}`,
      );
      const [wal] = await d.sql('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS bytes', [walBefore.lsn]);
      console.log(
        `  PostgreSQL WAL per accepted message: ${fmt(Number(wal.bytes) / step.accepted)} bytes (the whole server: other databases' writes count too)`,
      );
    }

    let knee = 0;
    for (const rate of RATES) {
      const step = await openLoop(rate, Math.max(3, Math.floor(SECONDS / 2)), (i) => send(i, false));
      const isKeepingUp = step.acceptedPerSecond >= rate * 0.95 && step.errors === 0 && step.p99 < 1000;
      console.log(
        `offered ${rate}/s: accepted ${fmt(step.acceptedPerSecond)}/s, errors ${step.errors}, p50 ${fmt(step.p50)} ms, p99 ${fmt(step.p99)} ms${isKeepingUp ? '' : '  ← saturated'}`,
      );
      if (isKeepingUp) knee = Math.max(knee, step.acceptedPerSecond);
      else break;
    }
    const [backlog] = await d.sql(`SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL`);
    const [unrouted] = await d.sql(`SELECT count(*)::int AS n FROM messages WHERE routed_at IS NULL`);
    if (firstError) console.log(`first error: ${firstError}`);
    console.log(
      `sustained accepted msg/s (knee): ${fmt(knee)}; right after the last step: outbox backlog ${backlog.unpublished}, unrouted messages ${unrouted.n}`,
    );
    console.log(`RSS MiB: api ${d.apis.map((p) => fmt(rssMb(p.child.pid))).join(' / ')}, worker ${d.workers.map((p) => fmt(rssMb(p.child.pid))).join(' / ')}`);
    for (const r of recipients) r.socket.close();
    for (const w of wsSenders ?? []) w.close();
  } finally {
    await d.close();
  }
}

await main();
process.exit(0);
