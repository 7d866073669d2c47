/** Configuration of Kafka security, Redis Sentinel, S3 bucket creation, LOG_PRETTY and the JWT length rule. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig } from './config.ts';

const base = { KAFKA_BROKERS: 'k:9092', JWT_SECRET_KEY: 'k'.repeat(32) };
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return '';
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
};

describe('Kafka SASL and TLS', () => {
  it('unset: no authentication, no TLS', () => {
    const c = loadConfig(base);
    expect(c.kafka.sasl).toBeUndefined();
    expect(c.kafka.tls).toBeUndefined();
  });

  it('reads SCRAM credentials; the password is redacted in the logged config', () => {
    const c = loadConfig({ ...base, KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'app', KAFKA_SASL_PASSWORD: 'pw-123' });
    expect(c.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'app', password: 'pw-123' });
    expect(JSON.stringify(redactConfig(c))).not.toContain('pw-123');
  });

  it('names each mistake', () => {
    expect(problemsOf({ ...base, KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD: 'b' })).toMatch(
      /KAFKA_SASL_MECHANISM must be one of scram-sha-256, scram-sha-512, plain/,
    );
    expect(problemsOf({ ...base, KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'a' })).toMatch(
      /needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    );
    expect(problemsOf({ ...base, KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD: 'b' })).toMatch(/KAFKA_SASL_MECHANISM is not/);
    expect(problemsOf({ ...base, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD: 'b' })).toMatch(
      /clear text: set KAFKA_TLS=true/,
    );
    expect(problemsOf({ ...base, KAFKA_TLS: 'maybe' })).toMatch(/KAFKA_TLS must be true or false/);
    expect(problemsOf({ ...base, KAFKA_TLS_CA_FILE: '/no/such/ca.pem' })).toMatch(/KAFKA_TLS_CA_FILE \/no\/such\/ca.pem cannot be read \(ENOENT\)/);
  });

  it('KAFKA_TLS_CA_FILE turns TLS on and is read as PEM; KAFKA_TLS=true alone uses the system CAs', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chat4all-ca-'));
    try {
      const pem = path.join(dir, 'ca.pem');
      await writeFile(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      expect(loadConfig({ ...base, KAFKA_TLS_CA_FILE: pem }).kafka.tls?.ca).toContain('BEGIN CERTIFICATE');
      const junk = path.join(dir, 'junk.pem');
      await writeFile(junk, 'not a certificate');
      expect(problemsOf({ ...base, KAFKA_TLS_CA_FILE: junk })).toMatch(/holds no PEM certificate/);
      expect(problemsOf({ ...base, KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: pem })).toMatch(/KAFKA_TLS_CA_FILE is set but KAFKA_TLS=false/);
      expect(loadConfig({ ...base, KAFKA_TLS: 'true' }).kafka.tls).toEqual({});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Redis Sentinel', () => {
  it('parses host:port lists (26379 by default) and the master name', () => {
    const c = loadConfig({ ...base, REDIS_SENTINELS: 'a:26380, b ,[::1]:5000', REDIS_SENTINEL_MASTER: 'main' });
    expect(c.redis.sentinels).toEqual([
      { host: 'a', port: 26380 },
      { host: 'b', port: 26379 },
      { host: '::1', port: 5000 },
    ]);
    expect(c.redis.sentinelMaster).toBe('main');
    expect(loadConfig({ ...base, REDIS_SENTINELS: 'a' }).redis.sentinelMaster).toBe('mymaster');
  });

  it('Sentinels alone leave embedded mode; with REDIS_URL too, or malformed, they are refused', () => {
    expect(loadConfig({ REDIS_SENTINELS: 'a:26379', JWT_SECRET_KEY: 'k'.repeat(32) }).isEmbedded).toBe(false);
    expect(problemsOf({ ...base, REDIS_SENTINELS: 'a:26379', REDIS_URL: 'redis://r' })).toMatch(/REDIS_URL or REDIS_SENTINELS, not both/);
    expect(problemsOf({ ...base, REDIS_SENTINELS: 'a:99999' })).toMatch(/REDIS_SENTINELS must be comma-separated host:port entries \(bad: "a:99999"\)/);
    expect(problemsOf({ ...base, REDIS_SENTINELS: ' , ' })).toMatch(/names no Sentinel/);
  });
});

describe('JWT_SECRET_KEY length', () => {
  it('says how long it is and what to generate', () => {
    expect(problemsOf({ ...base, JWT_SECRET_KEY: 'your-secret-key' })).toMatch(
      'JWT_SECRET_KEY must be at least 16 characters (it has 15); generate one with: openssl rand -base64 48',
    );
  });
});

describe('S3_CREATE_BUCKET and LOG_PRETTY', () => {
  it('bucket creation defaults on outside production, off in production', () => {
    expect(loadConfig({}).s3.createBucket).toBe(true);
    expect(loadConfig(base).s3.createBucket).toBe(false);
    expect(loadConfig({ ...base, S3_CREATE_BUCKET: 'true' }).s3.createBucket).toBe(true);
  });

  it('LOG_PRETTY is undefined unless set', () => {
    expect(loadConfig({}).logPretty).toBeUndefined();
    expect(loadConfig({ LOG_PRETTY: 'false' }).logPretty).toBe(false);
    expect(loadConfig({ LOG_PRETTY: 'true' }).logPretty).toBe(true);
    expect(problemsOf({ LOG_PRETTY: 'loud' })).toMatch(/LOG_PRETTY must be true or false/);
  });
});
