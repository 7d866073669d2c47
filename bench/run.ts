/**
 * Core benchmark: starts `chat4all start` in its own process (PostgreSQL, then PGlite), drives it
 * from this process with an open-loop load generator and prints sustained accepted msg/s (the
 * knee), accept latency p50/p99 and end-to-end latency POST → recipient WebSocket at 1,000 msg/s
 * with 500 connected recipients, and the server's peak RSS.
 *
 *   npm run bench                     # both stores (PostgreSQL from BENCH_DATABASE_URL or the local default)
 *   npm run bench -- --store pglite   # one store
 *   npm run bench -- --transport ws   # senders over the WebSocket `send` action (bench/ws-sender.ts)
 *   npm run bench -- --env ACCEPT_BATCH_MAX_WAIT_MS=2,ACCEPT_BATCH_MAX=100   # server settings
 *   npm run bench -- --ack            # recipients acknowledge each message (the settle path runs too)
 *   npm run bench -- --store postgres --statements   # statements and row versions per message at 1,000 msg/s
 *                                     # (needs pg_stat_statements loaded on that PostgreSQL)
 *   CHAT4ALL_BIN=/path/to/other/checkout/bin/chat4all.js npm run bench   # another build, for before/after
 *
 * The load generator is kept cheap (it shares the machine): a few keep-alive connections, bodies
 * serialised before each step, and its own CPU reported next to the server's and PostgreSQL's.
 *   npm run bench -- --sockets 19000  # idle-socket memory of the embedded server instead (bench/sockets.ts)
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import pg from 'pg';
import { freePort, spawnChat4all, type ChildInstance } from '../test/support/process.ts';
import { cpuDuring, fmt, LeanPoster, loadAverages, openLoop, percentile, pidsMatching, post, type StepResult } from './load.ts';
import { socketsBench } from './sockets.ts';
import { openWsSender } from './ws-sender.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'all' },
    recipients: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    rates: { type: 'string', default: '1000,2000,3000,4000,5000,6000' },
    transport: { type: 'string', default: 'http' },
    connections: { type: 'string', default: '32' },
    env: { type: 'string', default: '' },
    ack: { type: 'boolean', default: false },
    statements: { type: 'boolean', default: false },
    sockets: { type: 'string' },
  },
});
const TRANSPORT = values.transport as 'http' | 'ws';
if (TRANSPORT !== 'http' && TRANSPORT !== 'ws') throw new Error(`--transport must be http or ws, not ${values.transport}`);
if (!['all', 'postgres', 'pglite'].includes(values.store!)) throw new Error(`--store must be postgres, pglite or all, not ${values.store}`);
const CONNECTIONS = Number(values.connections);
const SERVER_ENV = Object.fromEntries(
  values
    .env!.split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const RECIPIENTS = Number(values.recipients);
const SECONDS = Number(values.seconds);
const RATES = values.rates!.split(',').map(Number);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function withServer(store: 'postgres' | 'pglite', work: (s: ChildInstance, database: string | undefined) => Promise<void>): Promise<void> {
  // ENVIRONMENT=test: production (the default on PostgreSQL) refuses demo users.
  const env: Record<string, string> = {
    ENVIRONMENT: 'test',
    RATE_LIMIT_ENABLED: 'false',
    DEMO_USERS: 'true',
    REGISTRATION: 'open',
    LOG_LEVEL: 'warn',
    // The ws transport opens CONNECTIONS sockets for user1 and writes frames as fast as the HTTP senders post.
    WS_MAX_PER_USER: String(Math.max(10, CONNECTIONS + 5)),
    WS_FRAMES_PER_SECOND: '100000',
    WS_FRAME_BURST: '100000',
    DATA_DIR: `${os.tmpdir()}/chat4all-bench-${randomUUID()}`,
    ...SERVER_ENV,
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
    await work(server, env.DATABASE_URL ? new URL(env.DATABASE_URL).pathname.slice(1) : undefined);
  } finally {
    await server.stop();
    await dropDb?.();
  }
}

async function bench(store: 'postgres' | 'pglite'): Promise<void> {
  await withServer(store, async (server, database) => {
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
              if (values.ack) ws.send(JSON.stringify({ action: 'ack', conversation_id: f.conversation_id, seq: f.seq }));
            });
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );

    let firstError: string | undefined;
    const transport = await openTransport(
      TRANSPORT,
      server.url,
      token,
      recipients.map((r) => r.conversationId),
    );
    // Bodies for a step, serialised before its clock starts.
    let next = 0;
    const prepare = (count: number) =>
      Array.from({ length: count }, () => {
        const i = next++;
        const id = randomUUID();
        const r = recipients[i % recipients.length];
        return {
          id,
          body: Buffer.from(JSON.stringify({ message_id: id, conversation_id: r.conversationId, payload: { type: 'text', content: `bench ${i}` } })),
        };
      });
    const fire = (bodies: { id: string; body: Buffer }[], track: boolean) => (i: number) => {
      const { id, body } = bodies[i];
      if (track) sentAt.set(id, performance.now());
      return transport.send(body).then((res) => {
        if (!res.ok && !firstError) firstError = res.error;
        return res.ok;
      });
    };
    const parts: Record<string, () => number[]> = {
      server: () => [pid],
      ...(database ? { postgres: () => pidsMatching(new RegExp(`^postgres: .*\\b${database} `)) } : {}),
      'load generator': () => [process.pid],
    };
    const step = async (rate: number, seconds: number, track: boolean): Promise<StepResult & { cpu: string }> => {
      const bodies = prepare(rate * seconds);
      const { result, cpu } = await cpuDuring(parts, () => openLoop(rate, seconds, fire(bodies, track)));
      const perMessage = Object.entries(cpu)
        .map(([k, s]) => `${k} ${((s * 1000) / Math.max(1, result.accepted)).toFixed(3)}`)
        .join(' / ');
      return { ...result, cpu: `CPU ms per accepted message: ${perMessage}; load ${loadAverages()}` };
    };

    // Warm-up, then the 1,000 msg/s measurement with end-to-end latency.
    await step(500, 2, false);
    const counter = values.statements && database ? await statementCounter(database) : undefined;
    const at1k = await step(1000, SECONDS, true);
    await new Promise((r) => setTimeout(r, 1000));
    if (counter) await counter.report(at1k.accepted);
    e2e.sort((a, b) => a - b);
    console.log(
      `[${store}/${TRANSPORT}] at 1000 msg/s for ${SECONDS}s: accepted ${at1k.accepted}/${at1k.sent} (${fmt(at1k.acceptedPerSecond)}/s), accept p50 ${fmt(at1k.p50)} ms p99 ${fmt(at1k.p99)} ms; end-to-end (send → recipient socket) n=${e2e.length} p50 ${fmt(percentile(e2e, 50))} ms p99 ${fmt(percentile(e2e, 99))} ms`,
    );
    console.log(`[${store}/${TRANSPORT}]   ${at1k.cpu}`);

    // Knee: raise the offered rate until the server stops keeping up.
    let knee = 0;
    for (const rate of RATES) {
      const result = await step(rate, Math.max(3, Math.floor(SECONDS / 2)), false);
      const isKeepingUp = result.acceptedPerSecond >= rate * 0.95 && result.errors === 0 && result.p99 < 1000;
      console.log(
        `[${store}/${TRANSPORT}] offered ${rate}/s: accepted ${fmt(result.acceptedPerSecond)}/s, errors ${result.errors}, p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms${isKeepingUp ? '' : '  ← saturated'}`,
      );
      console.log(`[${store}/${TRANSPORT}]   ${result.cpu}`);
      if (isKeepingUp) knee = Math.max(knee, result.acceptedPerSecond);
      else break;
    }
    transport.close();
    clearInterval(sampler);
    if (firstError) console.log(`[${store}/${TRANSPORT}] first error: ${firstError}`);
    console.log(`[${store}/${TRANSPORT}] sustained accepted msg/s (knee): ${fmt(knee)}; server peak RSS ${fmt(peakRss)} MiB; sockets ${sockets.length}`);
    for (const ws of sockets) ws.close();
  });
}

/**
 * Statements (pg_stat_statements), commits and row versions (pg_stat_user_tables) in `database`
 * from now until report(), divided by the messages accepted meanwhile. Counts every process on that
 * database: accept, relay, router, fan-out, acks and the periodic jobs.
 */
async function statementCounter(database: string) {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const u = new URL(PG_URL);
  u.pathname = `/${database}`;
  const db = new pg.Client({ connectionString: u.toString() });
  await db.connect();
  const tables = async () =>
    (await db.query('SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del FROM pg_stat_user_tables')).rows as {
      relname: string;
      ins: string;
      upd: string;
      hot: string;
      del: string;
    }[];
  const commits = async () => Number((await db.query('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()')).rows[0].xact_commit);
  await admin.query('SELECT pg_stat_statements_reset()');
  await db.query('SELECT pg_stat_clear_snapshot()');
  const before = { tables: await tables(), commits: await commits() };
  return {
    async report(messages: number) {
      await new Promise((r) => setTimeout(r, 2000)); // statistics reach the views within a second or so
      await db.query('SELECT pg_stat_clear_snapshot()');
      const after = { tables: await tables(), commits: await commits() };
      const rows = (
        await admin.query(
          `SELECT calls, rows, total_exec_time, regexp_replace(left(query, 110), '\\s+', ' ', 'g') AS query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = $1 AND calls > 0 ORDER BY calls DESC`,
          [database],
        )
      ).rows;
      const per = (n: number) => (n / messages).toFixed(3);
      const calls = rows.reduce((n, r) => n + Number(r.calls), 0);
      const ms = rows.reduce((n, r) => n + Number(r.total_exec_time), 0);
      console.log(
        `statements per accepted message (${messages} messages): ${per(calls)}; execution ${per(ms)} ms; commits ${per(after.commits - before.commits)}`,
      );
      for (const r of rows.slice(0, 25))
        console.log(`  ${per(Number(r.calls)).padStart(7)} × ${(Number(r.total_exec_time) / Number(r.calls)).toFixed(3)} ms  ${r.query}`);
      console.log('row versions per accepted message (inserted / updated (HOT) / deleted):');
      for (const t of after.tables) {
        const b = before.tables.find((x) => x.relname === t.relname);
        const d = (k: 'ins' | 'upd' | 'hot' | 'del') => Number(t[k]) - Number(b?.[k] ?? 0);
        if (d('ins') + d('upd') + d('del') > 0)
          console.log(`  ${t.relname.padEnd(24)} ${per(d('ins'))} / ${per(d('upd'))} (${per(d('hot'))}) / ${per(d('del'))}`);
      }
      await db.end();
      await admin.end();
    },
  };
}

/** How the senders reach the server: `send` resolves once the message is accepted (or refused). */
interface Transport {
  send(body: Buffer): Promise<{ ok: true } | { ok: false; error: string }>;
  close(): void;
}

async function openTransport(kind: 'http' | 'ws', baseUrl: string, token: string, conversations: number[]): Promise<Transport> {
  if (kind === 'ws') return openWsSender(baseUrl, token, CONNECTIONS, conversations);
  const poster = new LeanPoster(baseUrl, CONNECTIONS, { authorization: `Bearer ${token}` });
  return {
    send: (body) => poster.post('/v1/messages', body).then((res) => (res.status === 202 ? { ok: true } : { ok: false, error: `${res.status} ${res.body}` })),
    close: () => poster.close(),
  };
}

if (values.sockets) {
  await socketsBench(Number(values.sockets));
  process.exit(0);
}
const stores = values.store === 'all' ? (['postgres', 'pglite'] as const) : [values.store as 'postgres' | 'pglite'];
console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, node ${process.version}; load ${loadAverages()}; transport ${TRANSPORT}, ${CONNECTIONS} connections${process.env.CHAT4ALL_BIN ? `; build ${process.env.CHAT4ALL_BIN}` : ''}${values.env ? `; server env ${values.env}` : ''}`,
);
for (const store of stores) await bench(store);
process.exit(0);
