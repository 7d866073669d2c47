/** Runs `chat4all` as a real child process (for crash and multi-process tests). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// CHAT4ALL_BIN runs another checkout's build (a benchmark's before/after on one machine).
const BIN = process.env.CHAT4ALL_BIN ?? fileURLToPath(new URL('../../bin/chat4all.js', import.meta.url));

export interface ChildInstance {
  child: ChildProcess;
  url: string;
  /** /metrics lives on a port of its own (METRICS_PORT), as in production. */
  metricsUrl: string;
  output: () => string;
  /** SIGKILL: no draining, no cleanup. */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export async function spawnChat4all(args: string[], env: Record<string, string>, port: number, timeoutMs = 60_000): Promise<ChildInstance> {
  // CHAT4ALL_NODE_ARGS adds Node flags to the child (e.g. --cpu-prof when profiling a benchmark).
  const nodeArgs = process.env.CHAT4ALL_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const metricsPort = env.METRICS_PORT ?? String(await freePort());
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      METRICS_PORT: metricsPort,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`chat4all ${args.join(' ')} exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${url}/ready`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`chat4all ${args.join(' ')} not ready within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    output: () => out,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
