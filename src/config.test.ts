import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig } from './config.ts';

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
    const c = loadConfig({ DATABASE_URL: 'postgres://db/x', JWT_SECRET_KEY: 'k'.repeat(32), MINIO_ENDPOINT: 'minio:9000', MINIO_BUCKET: 'b', KAFKA_BOOTSTRAP_SERVERS: 'k1:9092,k2:9092' });
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
});
