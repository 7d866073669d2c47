import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readDotEnv, redactConfig } from './config.ts';

const problemsOf = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  return '';
};

describe('config', () => {
  it('defaults to the embedded mode with nothing set', () => {
    const c = loadConfig({});
    expect(c.isEmbedded).toBe(true);
    expect(c.http.port).toBe(8000);
    expect(c.store.url).toBeUndefined();
    expect(c.auth.registration).toBe('open');
    expect(c.auth.demoUsers).toBe(true);
    expect(Object.isFrozen(c.auth)).toBe(true);
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({ PORT: 'x', DATABASE_URL: 'mysql://a', LOG_LEVEL: 'loud', RATE_LIMIT_ENABLED: 'maybe' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'RATE_LIMIT_ENABLED', 'JWT_SECRET_KEY']) expect(problems).toContain(name);
    }
  });

  it('closes registration and demo users in production and accepts MinIO aliases', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://db/x',
      JWT_SECRET_KEY: 'k'.repeat(32),
      MINIO_ENDPOINT: 'minio:9000',
      MINIO_BUCKET: 'b',
      KAFKA_BOOTSTRAP_SERVERS: 'k1:9092,k2:9092',
    });
    expect(c.auth.registration).toBe('closed');
    expect(c.auth.demoUsers).toBe(false);
    expect(c.s3).toMatchObject({ endpoint: 'http://minio:9000', bucket: 'b' });
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
  });

  it('trusts no proxy by default and reads TRUST_PROXY as true, a hop count or addresses/CIDRs', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8,loopback' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'loopback']);
    for (const bad of ['10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/2', ',']) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
    }
  });

  it('has finite HTTP timeouts and a per-account login throttle by default', () => {
    const c = loadConfig({});
    expect(c.httpTimeouts).toEqual({ headersMs: 10_000, bodyMs: 30_000, uploadBodyMs: 600_000, idleMs: 120_000, keepAliveMs: 72_000 });
    expect(c.loginThrottle).toEqual({ maxFailures: 10, windowSeconds: 900 });
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS must not exceed/);
  });

  it('never logs secrets', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u:pw@db/x', JWT_SECRET_KEY: 'super-secret-value-123', S3_SECRET_KEY: 's3secret' });
    const text = JSON.stringify(redactConfig(c));
    for (const secret of ['pw@', 'super-secret-value-123', 's3secret']) expect(text).not.toContain(secret);
  });

  it('documents every variable it reads in .env.example', () => {
    // config.ts reads the channel variables through config-channels.ts.
    const source = ['./config.ts', './config-channels.ts'].map((f) => readFileSync(new URL(f, import.meta.url), 'utf8')).join('\n');
    const read = new Set([...source.matchAll(/'([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]));
    for (const c of ['AUTH', 'SEND', 'WRITE', 'CHUNK', 'READ']) read.add(`RATE_LIMIT_${c}_PER_MINUTE`);
    for (const c of ['WHATSAPP', 'INSTAGRAM', 'MESSENGER', 'TELEGRAM']) read.add(`CHANNEL_AGENTS_${c}`).add(`${c}_RATE_PER_SECOND`);
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const aliases = ['KAFKA_BOOTSTRAP_SERVERS', 'MINIO_ENDPOINT', 'MINIO_BUCKET', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'MINIO_SECURE'];
    expect([...read].filter((n) => !documented.has(n) && !aliases.includes(n))).toEqual([]);
    expect([...documented].filter((n) => !read.has(n))).toEqual([]);
  });

  it('treats NODE_ENV=production as production: no demo users, closed registration, a required secret, metrics and docs off the public port', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toMatch(/JWT_SECRET_KEY is required in production/);
    const c = loadConfig({ NODE_ENV: 'production', JWT_SECRET_KEY: 'k'.repeat(32) });
    expect(c.environment).toBe('production');
    expect(c.isEmbedded).toBe(true);
    expect(c.auth).toMatchObject({ registration: 'closed', demoUsers: false, isEphemeralSecret: false });
    expect(c.http.host).toBe('0.0.0.0');
    expect(c.metrics.port).toBe(9464);
    expect(c.docs.isEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', ENVIRONMENT: 'development' }).environment).toBe('development');
  });

  it('reads VAPID keys as a pair of P-256 keys, keeps the private one out of logs, and refuses loopback push endpoints in production', () => {
    const publicKey = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 9)]).toString('base64url');
    const privateKey = Buffer.alloc(32, 5).toString('base64url');
    const c = loadConfig({ VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey, VAPID_SUBJECT: 'https://chat.example.com' });
    expect(c.push).toEqual({ vapid: { publicKey, privateKey }, subject: 'https://chat.example.com', isLoopbackHttpAllowed: false });
    expect(JSON.stringify(redactConfig(c))).not.toContain(privateKey);
    expect(loadConfig({}).push.vapid).toBeUndefined();
    expect(problemsOf({ VAPID_PUBLIC_KEY: publicKey })).toMatch(/set together/);
    expect(problemsOf({ VAPID_PUBLIC_KEY: publicKey.slice(2), VAPID_PRIVATE_KEY: `${privateKey}=` })).toMatch(
      /VAPID_PUBLIC_KEY must[\s\S]*VAPID_PRIVATE_KEY must/,
    );
    expect(problemsOf({ VAPID_SUBJECT: 'ops@example.com' })).toMatch(/VAPID_SUBJECT/);
    const production = { ENVIRONMENT: 'production', JWT_SECRET_KEY: 'a-production-secret-0123456789', DEMO_USERS: 'false' };
    expect(problemsOf({ ...production, VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey })).toMatch(/VAPID_SUBJECT .* is required/);
    expect(problemsOf({ ...production, PUSH_ALLOW_LOOPBACK_HTTP: 'true' })).toMatch(/PUSH_ALLOW_LOOPBACK_HTTP/);
  });

  it('refuses demo users in production', () => {
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'k'.repeat(32), DEMO_USERS: 'true' })).toMatch(/DEMO_USERS=true is refused in production/);
  });

  it('refuses a JWT secret published in this repository outside development', () => {
    const compose = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
    const published = ['dev-only-jwt-secret-change-me-0123456789', 'CHANGE_ME-but-longer-than-16', 'please-replace-me-0123456789'];
    for (const secret of published) {
      expect(problemsOf({ DATABASE_URL: 'postgres://db/x', JWT_SECRET_KEY: secret }), secret).toMatch(/published in this repository/);
      expect(problemsOf({ ENVIRONMENT: 'test', JWT_SECRET_KEY: secret }), secret).toMatch(/published in this repository/);
      expect(problemsOf({ ENVIRONMENT: 'development', JWT_SECRET_KEY: secret }), secret).toBe('');
    }
    // Every literal secret docker-compose.yml still carries is one of them.
    for (const [, literal] of compose.matchAll(/JWT_SECRET_KEY:\s*"?([^"$\s][^"\s]*)"?$/gm))
      expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: literal })).toMatch(/published/);
  });

  it('binds 127.0.0.1 in embedded mode with demo users unless HOST says otherwise', () => {
    expect(loadConfig({}).http.host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).http.host).toBe('0.0.0.0');
    expect(loadConfig({ DEMO_USERS: 'false' }).http.host).toBe('0.0.0.0');
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', JWT_SECRET_KEY: 'k'.repeat(32), ENVIRONMENT: 'test', DEMO_USERS: 'true' }).http.host).toBe('0.0.0.0');
  });

  it('serves metrics on the HTTP port outside production, on METRICS_PORT (9464) in production', () => {
    expect(loadConfig({}).metrics.port).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9100' }).metrics.port).toBe(9100);
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', JWT_SECRET_KEY: 'k'.repeat(32) }).metrics.port).toBe(9464);
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', JWT_SECRET_KEY: 'k'.repeat(32), METRICS_PORT: '8000' }).metrics.port).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', JWT_SECRET_KEY: 'k'.repeat(32), DOCS_ENABLED: 'true' }).docs.isEnabled).toBe(true);
    expect(loadConfig({}).docs.isEnabled).toBe(true);
  });

  it('reads a .env file when there is one; nothing otherwise', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'chat4all-env-'));
    try {
      expect(readDotEnv(dir)).toEqual({});
      writeFileSync(path.join(dir, '.env'), '# comment\nPORT=8123\nPUBLIC_URL="https://chat.example.com"\n');
      expect(readDotEnv(dir)).toEqual({ PORT: '8123', PUBLIC_URL: 'https://chat.example.com' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
