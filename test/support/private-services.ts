/**
 * A Kafka broker and a Redis server of a test's own, so that the test can restart them without
 * disturbing other suites (or other runs) that share the machine's services. Kafka comes from
 * `scripts/services.sh` with its own run directory and ports (the jars are the cached ones);
 * Redis is a plain `redis-server` child without persistence.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './process.ts';

const SERVICES = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

export interface PrivateService {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A single-node KRaft broker on free ports; `restart` keeps its data (topics, committed offsets). */
export async function startPrivateKafka(): Promise<PrivateService & { brokers: string[] }> {
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'chat4all-kafka-'));
  const port = await freePort();
  const env = {
    ...process.env,
    C4A_SERVICES_RUN: runDir,
    C4A_KAFKA_PORT: String(port),
    C4A_KAFKA_CONTROLLER_PORT: String(await freePort()),
    C4A_KAFKA_SASL_PORT: String(await freePort()),
  };
  const services = (command: string) => promisify(execFile)('bash', [SERVICES, command, 'kafka'], { env, timeout: 120_000 });
  try {
    await services('up');
  } catch (e) {
    await services('down').catch(() => undefined);
    await rm(runDir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `127.0.0.1:${port}`,
    brokers: [`127.0.0.1:${port}`],
    restart: async () => void (await services('restart')),
    stop: async () => {
      await services('down').catch(() => undefined);
      await rm(runDir, { recursive: true, force: true });
    },
  };
}

/** A redis-server on a free port; `restart` loses its data, as a restart without persistence does. */
export async function startPrivateRedis(): Promise<PrivateService> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    // Ready once it answers PING.
    for (let attempt = 0; ; attempt++) {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined);
      const isUp = await probe
        .connect()
        .then(() => probe.ping())
        .then(
          () => true,
          () => false,
        );
      probe.disconnect();
      if (isUp) return;
      if (attempt > 200) throw new Error(`redis-server on port ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, restart: async () => (await stop(), await start()), stop };
}
