/** Starts a Chat4All instance for a test on a fresh database copied from the migrated template. */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { WebSocket } from 'ws';
import { loadConfig, ALL_ROLES, type Role } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { run, type Running, type RunOptions } from '../../src/main.ts';
import { PGLITE_TEMPLATE_DIR, TEMPLATE_DB, TEST_DB_PREFIX, postgresUrl, type StoreKind } from './stores.ts';
import { withDatabase } from './global-setup.ts';
import { signIn } from './sign-in.ts';

export interface TestInstance extends Running {
  kind: StoreKind;
  env: Record<string, string>;
  /** HTTP request through Fastify's inject (no socket). */
  request(
    method: string,
    url: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  /** Signs in and returns an access token. */
  login(username: string, password?: string): Promise<string>;
  /** Registers a fresh user with a unique name; returns its id, name and token. */
  user(prefix?: string): Promise<{ id: number; username: string; token: string }>;
  wsUrl(token: string): string;
  /** Runs SQL on the instance's database (for assertions). */
  query<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A fresh database of the given kind: a copied PGlite directory or a PostgreSQL database cloned from the template. */
export async function freshDatabase(kind: StoreKind): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat4all-test-'));
  if (kind === 'pglite') {
    await cp(PGLITE_TEMPLATE_DIR, path.join(dataDir, 'db'), { recursive: true });
    return { env: { DATA_DIR: dataDir }, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  if (!postgresUrl) throw new Error('no PostgreSQL configured');
  const name = `${TEST_DB_PREFIX}${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"`);
  await admin.end();
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: withDatabase(postgresUrl, name), JWT_SECRET_KEY: 'test-secret-key-0123456789abcdef' },
    drop: async () => {
      const a = new pg.Client({ connectionString: postgresUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startInstance(
  kind: StoreKind,
  env: Record<string, string> = {},
  options: RunOptions & { roles?: readonly Role[] } = {},
): Promise<TestInstance> {
  const db = await freshDatabase(kind);
  return startOn(kind, db, env, options);
}

/** Starts an instance on an existing database (e.g. to restart on the same data). */
export async function startOn(
  kind: StoreKind,
  db: { env: Record<string, string>; drop: () => Promise<void> },
  env: Record<string, string> = {},
  options: RunOptions & { roles?: readonly Role[] } = {},
): Promise<TestInstance> {
  const fullEnv = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DEMO_USERS: 'true',
    REGISTRATION: 'open',
    RATE_LIMIT_ENABLED: 'false',
    CONNECTOR_MOCK_LATENCY_MS: '5',
    DELIVERY_BACKOFF_MS: '20',
    ENVIRONMENT: 'test',
    ...db.env,
    ...env,
  };
  const config = loadConfig(fullEnv);
  const logger = createLogger(config.logLevel);
  const running = await run(config, options.roles ?? ALL_ROLES, logger, {
    deliveryLeaseMs: 2000,
    ...options,
    pipeline: { relayPollMs: 20, schedulerPollMs: 50, unroutedAfterMs: 2000, ...options.pipeline },
  });
  const request: TestInstance['request'] = async (method, url, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const res = await running.server.inject({
      method: method as 'GET',
      url,
      headers,
      ...(o.body === undefined ? {} : typeof o.body === 'string' ? { payload: o.body } : { payload: o.body as object }),
    });
    let body: unknown = res.body;
    try {
      body = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.statusCode, body, headers: res.headers as Record<string, unknown> };
  };
  const login = (username: string, password?: string) => signIn((o) => request('POST', '/auth/token', o), username, password);
  let counter = 0;
  const user = async (prefix = 'u') => {
    const username = `${prefix}${++counter}_${randomUUID().slice(0, 6)}`;
    const res = await request('POST', '/auth/register', { body: { username, password: 'password123' } });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: res.body.user_id as number, username, token: await login(username) };
  };
  const address = running.server.server.address() as AddressInfo;
  return {
    ...running,
    kind,
    env: fullEnv,
    request,
    login,
    user,
    wsUrl: (token: string) => `ws://127.0.0.1:${address.port}/ws?token=${encodeURIComponent(token)}`,
    query: <T>(text: string, params?: unknown[]) => running.app.db.query(text, params) as Promise<T[]>,
    close: async () => {
      await running.stop();
      await db.drop();
    },
  };
}

/** A WebSocket client that records every frame and can wait for one. */
export class TestSocket {
  readonly frames: any[] = [];
  closeCode?: number;
  private waiters: { match: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data));
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => (w.match(frame) ? (w.resolve(frame), false) : true));
    });
    ws.on('close', (code) => (this.closeCode = code));
  }

  static connect(url: string, headers?: Record<string, string>): Promise<TestSocket> {
    const ws = new WebSocket(url, { headers });
    const socket = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
    });
  }

  /** Resolves with the first frame (already received or future) matching `match`. */
  next(match: (f: any) => boolean, timeoutMs = 5000): Promise<any> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`)),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  ofType(type: string): any[] {
    return this.frames.filter((f) => f.type === type);
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  closed(timeoutMs = 5000): Promise<number> {
    if (this.closeCode !== undefined) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.ws.once('close', (code) => (clearTimeout(timer), resolve(code)));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Polls `check` until it returns a truthy value. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const uuid = () => randomUUID();
