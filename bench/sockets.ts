/**
 * Idle-socket memory (`npm run bench -- --sockets N`): starts `chat4all start` (embedded), opens N authenticated WebSockets from separate
 * load-generator processes (bench/socket-client.ts, at most 9,500 each: the per-process fd limit
 * here is 20,000), and reports the server's RSS idle, before and after the sockets, and per socket.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { freePort, spawnChat4all } from '../test/support/process.ts';
import { fmt, post } from './load.ts';

const PER_CLIENT = 9_500;
const USERS = ['user1', 'user2', 'user3', 'user4', 'user5'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The server's own view of its memory, from its Prometheus metrics (MiB). */
async function heapOf(metricsUrl: string): Promise<string> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1024 ** 2;
  return `heap used ${fmt(get('nodejs_heap_size_used_bytes'))} MiB of ${fmt(get('nodejs_heap_size_total_bytes'))}, external ${fmt(get('nodejs_external_memory_bytes'))} MiB`;
}

export async function socketsBench(count: number): Promise<void> {
  const store = 'pglite';
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, node ${process.version}; load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const env: Record<string, string> = {
    ENVIRONMENT: 'test',
    RATE_LIMIT_ENABLED: 'false',
    DEMO_USERS: 'true',
    LOG_LEVEL: 'warn',
    WS_MAX_PER_USER: '10000',
    DATA_DIR: `${os.tmpdir()}/chat4all-bench-${randomUUID()}`,
  };
  const server = await spawnChat4all(['start'], env, await freePort(), 600_000);
  const pid = server.child.pid!;
  const clients: ReturnType<typeof fork>[] = [];
  try {
    await sleep(3000);
    const idle = rssMiB(pid);
    console.log(`[${store}] server idle after start: RSS ${fmt(idle)} MiB; ${await heapOf(server.metricsUrl)}`);
    const tokens: string[] = [];
    for (const username of USERS) tokens.push(JSON.parse((await post(`${server.url}/auth/token`, { username, password: 'password123' })).body).access_token);
    // user1 has a private conversation with each of the others: every socket has a conversation or more to hear.
    const idOf = (token: string) => Number(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub);
    for (const token of tokens.slice(1)) {
      const res = await post(`${server.url}/v1/conversations`, { type: 'private', member_ids: [idOf(token)] }, tokens[0]);
      if (res.status !== 201) throw new Error(`conversation: ${res.status} ${res.body}`);
    }
    await sleep(2000);
    const before = rssMiB(pid);
    console.log(`[${store}] before sockets: RSS ${fmt(before)} MiB; ${await heapOf(server.metricsUrl)}`);

    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 250);
    const started = performance.now();
    const wsUrl = `${server.url.replace('http', 'ws')}/ws`;
    const results = await Promise.all(
      Array.from({ length: Math.ceil(count / PER_CLIENT) }, (_, k) => {
        const n = Math.min(PER_CLIENT, count - k * PER_CLIENT);
        const child = fork(fileURLToPath(new URL('./socket-client.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
        clients.push(child);
        return new Promise<{ open: number; failures: number; firstError: string }>((resolve) => {
          child.once('message', (m) => resolve(m as { open: number; failures: number; firstError: string }));
          child.send({ url: wsUrl, tokens, count: n });
        });
      }),
    );
    const open = results.reduce((s, r) => s + r.open, 0);
    const failures = results.reduce((s, r) => s + r.failures, 0);
    console.log(
      `[${store}] opened ${open}/${count} sockets in ${fmt((performance.now() - started) / 1000)} s${failures ? `; ${failures} failed, first: ${results.find((r) => r.firstError)?.firstError}` : ''}`,
    );
    // Let the server settle (and collect) before reading its memory.
    await sleep(10_000);
    const after = rssMiB(pid);
    clearInterval(sampler);
    console.log(`[${store}] with ${open} idle sockets: RSS ${fmt(after)} MiB (peak while opening ${fmt(peak)} MiB); ${await heapOf(server.metricsUrl)}`);
    console.log(
      `[${store}] per idle socket: ${fmt(((after - before) * 1024) / Math.max(1, open))} KiB of RSS; load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    for (const c of clients) c.send('close');
    await sleep(500);
    await server.stop();
  }
}
