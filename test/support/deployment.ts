/**
 * A distributed Chat4All as real processes: `chat4all api` ×N and `chat4all worker` ×M on one
 * fresh PostgreSQL database (migrated with `chat4all migrate`), one Kafka and one Redis. Each
 * deployment has its own Kafka topic prefix and Redis key prefix, so deployments and test runs
 * sharing the services never see each other's events.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { withDatabase } from './global-setup.ts';
import { freePort, spawnChat4all, type ChildInstance } from './process.ts';
import { signIn } from './sign-in.ts';
import { deleteKafkaTopics } from './services.ts';

const BIN = fileURLToPath(new URL('../../bin/chat4all.js', import.meta.url));

export interface DeploymentOptions {
  /** PostgreSQL server (any database on it): the deployment creates and drops a database of its own. */
  postgresUrl: string;
  kafkaBrokers: string[];
  redisUrl: string;
  apis?: number;
  workers?: number;
  /** Extra environment for every process. */
  env?: Record<string, string>;
}

export interface Reply {
  status: number;
  body: any;
  headers: Record<string, string>;
}

export interface Deployment {
  apis: ChildInstance[];
  workers: ChildInstance[];
  env: Record<string, string>;
  /** An HTTP request to API instance `api` (0-based); an object body is sent as JSON, a string as it is. */
  request(api: number, method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Reply>;
  wsUrl(api: number, token: string): string;
  /** Registers a user through API 0 and signs in; returns id, name and access token. */
  user(prefix?: string): Promise<{ id: number; username: string; token: string }>;
  /** Runs SQL on the deployment's database (for assertions). */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  /** Starts worker `i` again (after a kill). */
  restartWorker(i: number): Promise<void>;
  /** Starts one more worker (scaling out); it is the last of `workers`. */
  addWorker(): Promise<ChildInstance>;
  close(): Promise<void>;
}

export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const id = randomUUID().slice(0, 8);
  const db = await createDatabase(options.postgresUrl, `chat4all_dist_${id}`);
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    JWT_SECRET_KEY: `dist-secret-${id}-0123456789`,
    KAFKA_BROKERS: options.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: `dist-${id}.`,
    KAFKA_PARTITIONS: '8',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: `dist-${id}:`,
    ENVIRONMENT: 'test',
    REGISTRATION: 'open',
    DEMO_USERS: 'false',
    RATE_LIMIT_ENABLED: 'false',
    DATABASE_POOL_SIZE: '6',
    CONNECTOR_MOCK_LATENCY_MS: '5',
    DELIVERY_BACKOFF_MS: '50',
    DELIVERY_LEASE_MS: '5000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...options.env,
  };
  await promisify(execFile)(process.execPath, [BIN, 'migrate'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  // Dropping the database at the end terminates idle connections; that is expected.
  pool.on('error', () => undefined);
  const workers: ChildInstance[] = [];
  const apis: ChildInstance[] = [];
  const startWorker = async () => spawnChat4all(['worker'], env, await freePort(), 90_000);
  const close = async () => {
    await Promise.all([...apis, ...workers].map((p) => (p.child.exitCode === null && p.child.signalCode === null ? p.stop() : undefined)));
    await pool.end();
    await Promise.all([db.drop(), deleteKafkaTopics(options.kafkaBrokers, env.KAFKA_TOPIC_PREFIX)]);
  };
  try {
    // All at once: whichever process comes first creates the topics, the others find them.
    const started = await Promise.allSettled([
      ...Array.from({ length: options.workers ?? 2 }, async () => workers.push(await startWorker())),
      ...Array.from({ length: options.apis ?? 2 }, async () => apis.push(await spawnChat4all(['api'], env, await freePort(), 90_000))),
    ]);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (e) {
    await close();
    throw e;
  }
  const request: Deployment['request'] = async (api, method, path, o = {}) => {
    const isJson = o.body !== undefined && typeof o.body !== 'string';
    const res = await fetch(`${apis[api].url}${path}`, {
      method,
      headers: { ...(isJson ? { 'content-type': 'application/json' } : {}), ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
      body: isJson ? JSON.stringify(o.body) : (o.body as string | undefined),
    });
    const text = await res.text();
    let body: unknown = text || undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, headers: Object.fromEntries(res.headers) };
  };
  let users = 0;
  return {
    apis,
    workers,
    env,
    request,
    wsUrl: (api, token) => `${apis[api].url.replace('http', 'ws')}/ws?token=${encodeURIComponent(token)}`,
    user: async (prefix = 'u') => {
      const username = `${prefix}${++users}_${randomUUID().slice(0, 6)}`;
      const reg = await request(0, 'POST', '/auth/register', { body: { username, password: 'password123' } });
      if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
      return { id: reg.body.user_id as number, username, token: await signIn((o) => request(0, 'POST', '/auth/token', o), username) };
    },
    sql: async (text, params) => (await pool.query(text, params)).rows,
    restartWorker: async (i) => {
      workers[i] = await startWorker();
    },
    addWorker: async () => {
      const worker = await startWorker();
      workers.push(worker);
      return worker;
    },
    close,
  };
}

async function createDatabase(serverUrl: string, name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  return { url: withDatabase(serverUrl, name), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
