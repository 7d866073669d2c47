/**
 * `chat4all doctor` as an operator runs it (`kubectl exec … -- chat4all doctor`): a real process
 * against the real services, then with one of them pointed at a closed port.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/process.ts';
import { freshDatabase } from '../support/harness.ts';
import { hasServices, kafkaBrokers, kafkaSasl, redisSentinels, redisUrl } from '../support/services.ts';
import { postgresUrl } from '../support/stores.ts';
import { testS3 } from '../support/s3.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/chat4all.js', import.meta.url));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}
const doctor = (env: Record<string, string>, ...args: string[]): Promise<Outcome> =>
  run(process.execPath, [BIN, 'doctor', ...args], { env, timeout: 90_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: Outcome) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const checkOf = (out: Outcome, name: string) => (JSON.parse(out.stdout) as { checks: { name: string }[] }).checks.find((c) => c.name === name);

describe('chat4all doctor', () => {
  let scratch: string;
  let base: Record<string, string>;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'chat4all-doctor-'));
    base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', DATA_DIR: scratch, ENVIRONMENT: 'test' };
  });
  afterAll(async () => rm(scratch, { recursive: true, force: true }));

  it('embedded: the PGlite database answers, the other services are listed as not configured; exit 0', async () => {
    const out = await doctor(base, '--json');
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report.ok).toBe(true);
    expect(checkOf(out, 'database')).toMatchObject({ configured: true, ok: true, detail: expect.stringMatching(/^embedded PGlite, not created yet/) });
    for (const name of ['kafka', 'redis', 's3']) expect(checkOf(out, name)).toMatchObject({ configured: false, ok: true });

    const db = await freshDatabase('pglite');
    try {
      const existing = await doctor({ ...base, ...db.env }, '--json');
      expect(existing.code, existing.stdout + existing.stderr).toBe(0);
      expect(checkOf(existing, 'database')).toMatchObject({ ok: true, detail: expect.stringMatching(/^embedded PGlite \(PostgreSQL \d+/) });
    } finally {
      await db.drop();
    }
  }, 180_000);

  if (hasServices('chat4all doctor against the real services', 'postgres', 'kafka', 'redis') && postgresUrl) {
    const s3 = testS3('chat4all doctor');
    const full = () => ({
      ...base,
      DATABASE_URL: postgresUrl ?? '',
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl ?? '',
      JWT_SECRET_KEY: 'doctor-test-secret-0123456789abcdef',
      ...(s3?.env ?? {}),
    });

    it('every service up: versions of each, and exit 0 (table and --json)', async () => {
      const out = await doctor(full(), '--json');
      expect(out.code, out.stdout + out.stderr).toBe(0);
      expect(checkOf(out, 'database')).toMatchObject({ ok: true, detail: expect.stringMatching(/^PostgreSQL \d+\.\d+/) });
      expect(checkOf(out, 'kafka')).toMatchObject({ ok: true, detail: expect.stringMatching(/^cluster [\w-]+, 1 broker\(s\), controller \d+, \d+ APIs/) });
      expect(checkOf(out, 'redis')).toMatchObject({ ok: true, detail: expect.stringMatching(/^Redis \d+\.\d+\.\d+ \(standalone mode\)/) });
      if (s3) expect(checkOf(out, 's3')).toMatchObject({ ok: true, detail: `bucket ${s3.settings.bucket}` });
      // No password of the configuration in what is printed.
      expect(out.stdout).not.toContain('doctor-test-secret');
      expect(out.stdout).not.toContain(s3?.settings.secretKey ?? '<none>');

      const table = await doctor(full());
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^ok +database +postgres /m);
      expect(table.stdout).toMatch(/^ok +kafka +/m);
      expect(table.stdout).toContain('all configured services answered');
    }, 180_000);

    it('one service at a closed port: exit 1, that service named as unreachable, the others still ok', async () => {
      const closed = await freePort();
      const out = await doctor({ ...full(), KAFKA_BROKERS: `127.0.0.1:${closed}` });
      expect(out.code).toBe(1);
      expect(out.stdout).toMatch(new RegExp(`^FAIL +kafka +127\\.0\\.0\\.1:${closed}$`, 'm'));
      expect(out.stdout).toMatch(/^ok +database /m);
      expect(out.stdout).toMatch(/^ok +redis /m);
      expect(out.stdout).toMatch(/unreachable: kafka$/m);

      const json = await doctor({ ...full(), REDIS_URL: `redis://127.0.0.1:${closed}` }, '--json');
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).ok).toBe(false);
      expect(checkOf(json, 'redis')).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
      expect(checkOf(json, 'kafka')).toMatchObject({ ok: true });
    }, 180_000);

    it('a bucket that does not exist is named, with what to do', async () => {
      if (!s3) return;
      const out = await doctor({ ...full(), S3_BUCKET: `doctor-missing-${Date.now()}` }, '--json');
      expect(out.code).toBe(1);
      expect(checkOf(out, 's3')).toMatchObject({ ok: false, error: expect.stringMatching(/does not exist \(create it, or set S3_CREATE_BUCKET=true\)/) });
    }, 120_000);
  }

  if (hasServices('chat4all doctor over SASL/SCRAM and Sentinel', 'kafka-sasl', 'sentinel') && kafkaSasl && redisSentinels) {
    const secure = () => ({
      ...base,
      JWT_SECRET_KEY: 'doctor-test-secret-0123456789abcdef',
      KAFKA_BROKERS: kafkaSasl!.brokers.join(','),
      KAFKA_SASL_MECHANISM: kafkaSasl!.mechanism,
      KAFKA_SASL_USERNAME: kafkaSasl!.username,
      KAFKA_SASL_PASSWORD: kafkaSasl!.password,
      REDIS_SENTINELS: redisSentinels!.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_SENTINEL_MASTER: redisSentinels!.master,
    });

    it('reaches Kafka with SCRAM and Redis through the Sentinel; a wrong Kafka password is named as such', async () => {
      const out = await doctor(secure(), '--json');
      expect(out.code, out.stdout + out.stderr).toBe(0);
      expect(checkOf(out, 'kafka')).toMatchObject({ ok: true, target: expect.stringContaining(`SASL scram-sha-256 as ${kafkaSasl!.username}`) });
      expect(checkOf(out, 'redis')).toMatchObject({ ok: true, target: expect.stringMatching(/^sentinel /), detail: expect.stringMatching(/master at /) });
      expect(out.stdout).not.toContain(kafkaSasl!.password);

      const wrong = await doctor({ ...secure(), KAFKA_SASL_PASSWORD: 'not-the-password' }, '--json');
      expect(wrong.code).toBe(1);
      expect(checkOf(wrong, 'kafka')).toMatchObject({ ok: false, error: expect.stringContaining('SASL authentication failed') });
    }, 180_000);
  }
});
