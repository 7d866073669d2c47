/**
 * Core benchmark: starts `chat4all start` in its own process (PostgreSQL, then PGlite), drives it
 * from this process with an open-loop load generator and prints sustained accepted msg/s (the
 * knee), accept latency p50/p99 and end-to-end latency POST → recipient WebSocket at 1,000 msg/s
 * with 500 connected recipients, and the server's peak RSS.
 *
 *   npm run bench                     # both stores (PostgreSQL from BENCH_DATABASE_URL or the local default)
 *   npm run bench -- --store pglite   # one store
 *   npm run bench -- --sockets 19000  # idle-socket memory of the embedded server instead (bench/sockets.ts)
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import pg from 'pg';
import { freePort, spawnChat4all, type ChildInstance } from '../test/support/process.ts';
import { fmt, openLoop, percentile, post } from './load.ts';
import { socketsBench } from './sockets.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'all' },
    recipients: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    rates: { type: 'string', default: '1000,2000,3000,4000,5000,6000' },
    sockets: { type: 'string' },
  },
});
const RECIPIENTS = Number(values.recipients);
const SECONDS = Number(values.seconds);
const RATES = values.rates!.split(',').map(Number);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function withServer(store: 'postgres' | 'pglite', work: (s: ChildInstance) => Promise<void>): Promise<void> {
  // ENVIRONMENT=test: production (the default on PostgreSQL) refuses demo users.
  const env: Record<string, string> = {
    ENVIRONMENT: 'test',
    RATE_LIMIT_ENABLED: 'false',
    DEMO_USERS: 'true',
    REGISTRATION: 'open',
    LOG_LEVEL: 'warn',
    WS_MAX_PER_USER: '10',
    DATA_DIR: `${os.tmpdir()}/chat4all-bench-${randomUUID()}`,
  };
  let dropDb: (() => Promise<void>) | undefined;
  if (store === 'postgres') {
    const name = `chat4all_bench_${Date.now()}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    Object.assign(env, { DATABASE_URL: u.toString(), JWT_SECRET_KEY: 'bench-secret-0123456789abcdef', DATABASE_POOL_SIZE: '16' });
    dropDb = async () => {
      const a = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  }
  const server = await spawnChat4all(['start'], env, await freePort(), 120_000);
  try {
    await work(server);
  } finally {
    await server.stop();
    await dropDb?.();
  }
}

async function bench(store: 'postgres' | 'pglite'): Promise<void> {
  await withServer(store, async (server) => {
    const pid = server.child.pid!;
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 250);
    const token = JSON.parse((await post(`${server.url}/auth/token`, { username: 'user1', password: 'password123' })).body).access_token as string;

    // 500 recipients, each in a private conversation with user1, each with an open socket.
    console.log(`[${store}] creating ${RECIPIENTS} recipients…`);
    const recipients: { id: number; token: string; conversationId: number }[] = [];
    const suffix = randomUUID().slice(0, 6);
    for (let i = 0; i < RECIPIENTS; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, RECIPIENTS - i) }, async (_, j) => {
          const username = `r${i + j}_${suffix}`;
          const reg = JSON.parse((await post(`${server.url}/auth/register`, { username, password: 'password123' })).body);
          const tok = JSON.parse((await post(`${server.url}/auth/token`, { username, password: 'password123' })).body).access_token;
          const conv = JSON.parse((await post(`${server.url}/v1/conversations`, { type: 'private', member_ids: [reg.user_id] }, token)).body);
          return { id: reg.user_id, token: tok, conversationId: conv.conversation_id };
        }),
      );
      recipients.push(...batch);
    }
    const e2e: number[] = [];
    const sentAt = new Map<string, number>();
    const sockets = await Promise.all(
      recipients.map(
        (r) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${r.token}`);
            ws.on('message', (data) => {
              const f = JSON.parse(String(data));
              if (f.type !== 'message.created') return;
              const t0 = sentAt.get(f.message_id);
              if (t0 !== undefined) e2e.push(performance.now() - t0);
            });
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );

    let firstError: string | undefined;
    const send = (i: number, track: boolean) => {
      const r = recipients[i % recipients.length];
      const id = randomUUID();
      if (track) sentAt.set(id, performance.now());
      return post(
        `${server.url}/v1/messages`,
        { message_id: id, conversation_id: r.conversationId, payload: { type: 'text', content: `bench ${i}` } },
        token,
      ).then((res) => {
        if (res.status !== 202 && !firstError) firstError = `${res.status} ${res.body}`;
        return res.status === 202;
      });
    };

    // Warm-up, then the 1,000 msg/s measurement with end-to-end latency.
    await openLoop(500, 2, (i) => send(i, false));
    const at1k = await openLoop(1000, SECONDS, (i) => send(i, true));
    await new Promise((r) => setTimeout(r, 1000));
    e2e.sort((a, b) => a - b);
    console.log(
      `[${store}] at 1000 msg/s for ${SECONDS}s: accepted ${at1k.accepted}/${at1k.sent} (${fmt(at1k.acceptedPerSecond)}/s), accept p50 ${fmt(at1k.p50)} ms p99 ${fmt(at1k.p99)} ms; end-to-end (POST → recipient socket) n=${e2e.length} p50 ${fmt(percentile(e2e, 50))} ms p99 ${fmt(percentile(e2e, 99))} ms`,
    );

    // Knee: raise the offered rate until the server stops keeping up.
    let knee = 0;
    for (const rate of RATES) {
      const step = await openLoop(rate, Math.max(3, Math.floor(SECONDS / 2)), (i) => send(i, false));
      const isKeepingUp = step.acceptedPerSecond >= rate * 0.95 && step.errors === 0 && step.p99 < 1000;
      console.log(
        `[${store}] offered ${rate}/s: accepted ${fmt(step.acceptedPerSecond)}/s, errors ${step.errors}, p50 ${fmt(step.p50)} ms, p99 ${fmt(step.p99)} ms${isKeepingUp ? '' : '  ← saturated'}`,
      );
      if (isKeepingUp) knee = Math.max(knee, step.acceptedPerSecond);
      else break;
    }
    clearInterval(sampler);
    if (firstError) console.log(`[${store}] first error: ${firstError}`);
    console.log(`[${store}] sustained accepted msg/s (knee): ${fmt(knee)}; server peak RSS ${fmt(peakRss)} MiB; sockets ${sockets.length}`);
    for (const ws of sockets) ws.close();
  });
}

if (values.sockets) {
  await socketsBench(Number(values.sockets));
  process.exit(0);
}
const stores = values.store === 'all' ? (['postgres', 'pglite'] as const) : [values.store as 'postgres' | 'pglite'];
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, node ${process.version}`);
for (const store of stores) await bench(store);
process.exit(0);
