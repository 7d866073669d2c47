/**
 * The backup CronJob's script (k8s/cronjobs/postgres-backup.yaml, ConfigMap key backup.sh), run for
 * real: `dump` with pg_dump against a PostgreSQL database holding Chat4All's schema and some rows,
 * `upload` to the S3 store with curl, then `download` and `pg-restore` into a scratch database — the restore
 * k8s/README.md documents. Both databases are created and dropped here.
 * Needs PostgreSQL (TEST_DATABASE_URL), S3 (S3_ENDPOINT, S3_BUCKET, keys), pg_dump, pg_restore,
 * curl 7.75+; under CI=true a missing one fails instead of skipping.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, yamlDocs } from './support.ts';

const run = promisify(execFile);
const adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
const s3 = {
  endpoint: process.env.S3_ENDPOINT,
  bucket: process.env.S3_BUCKET,
  accessKey: process.env.S3_ACCESS_KEY,
  secretKey: process.env.S3_SECRET_KEY,
  region: process.env.S3_REGION ?? 'us-east-1',
};
const configured = Boolean(adminUrl && s3.endpoint && s3.bucket && s3.accessKey && s3.secretKey);
if (!configured && process.env.CI === 'true') throw new Error('CI=true but PostgreSQL or S3 is not configured: the backup test cannot run');

const [scriptConfigMap] = yamlDocs(path.join(ROOT, 'k8s/cronjobs/postgres-backup.yaml')) as { data: Record<string, string> }[];
const stamp = `${process.pid}_${Date.now()}`;
const sourceDb = `chat4all_backup_src_${stamp}`;
const restoreDb = `chat4all_backup_dst_${stamp}`;
const prefix = `backup-test-${stamp}/`;
const urlOf = (db: string) => {
  const u = new URL(adminUrl ?? 'postgres://localhost/postgres');
  u.pathname = `/${db}`;
  return u.toString();
};

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Tables of the public schema with their row counts, and the probe rows. */
async function snapshot(db: string) {
  return withClient(urlOf(db), async (c) => {
    const tables = (await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.t);
    const counts: Record<string, number> = {};
    for (const t of tables) counts[t] = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM "${t}"`)).rows[0].n);
    const probe = (await c.query(`SELECT id, body, encode(data, 'hex') AS data FROM backup_probe ORDER BY id`)).rows;
    const migrations = (await c.query(`SELECT version FROM schema_migrations ORDER BY 1`)).rows;
    return { tables, counts, probe, migrations };
  });
}

describe.runIf(configured)('PostgreSQL backup CronJob script', () => {
  let dir = '';
  let script = '';
  const env = () => ({
    ...process.env,
    BACKUP_DIR: dir,
    BACKUP_S3_BUCKET: s3.bucket,
    BACKUP_PREFIX: prefix,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    DATABASE_URL: urlOf(sourceDb),
    RESTORE_DATABASE_URL: urlOf(restoreDb),
  });
  const backup = (...args: string[]) => run('sh', [script, ...args], { env: env(), timeout: 120_000 });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chat4all-backup-'));
    script = path.join(dir, 'backup.sh');
    await writeFile(script, scriptConfigMap.data['backup.sh']);
    await withClient(urlOf('postgres'), async (c) => {
      await c.query(`CREATE DATABASE ${sourceDb}`);
      await c.query(`CREATE DATABASE ${restoreDb}`);
    });
    // The real schema (the same command the init containers run), then rows of our own.
    await run(process.execPath, [path.join(ROOT, 'bin/chat4all.js'), 'migrate'], {
      env: { ...process.env, DATABASE_URL: urlOf(sourceDb), JWT_SECRET_KEY: 'backup-test-secret-0123456789', LOG_LEVEL: 'warn' },
      timeout: 120_000,
    });
    await withClient(urlOf(sourceDb), async (c) => {
      await c.query(`CREATE TABLE backup_probe (id int PRIMARY KEY, body text NOT NULL, data bytea NOT NULL)`);
      await c.query(`INSERT INTO backup_probe SELECT g, 'olá ' || g || ' 🚀', sha256(g::text::bytea) FROM generate_series(1, 500) g`);
    });
  }, 180_000);

  afterAll(async () => {
    if (!configured) return;
    await withClient(urlOf('postgres'), async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${sourceDb} WITH (FORCE)`);
      await c.query(`DROP DATABASE IF EXISTS ${restoreDb} WITH (FORCE)`);
    });
    for (const key of ['latest', ...(await listed())]) await signedCurl(['-X', 'DELETE', objectUrl(key)]).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const objectUrl = (key: string) => `${s3.endpoint?.replace(/\/$/, '')}/${s3.bucket}/${prefix}${key}`;
  const signedCurl = (args: string[]) =>
    run('curl', [
      '--fail',
      '--silent',
      '--show-error',
      '--aws-sigv4',
      `aws:amz:${s3.region}:s3`,
      '--user',
      `${s3.accessKey}:${s3.secretKey}`,
      '-H',
      'x-amz-content-sha256: UNSIGNED-PAYLOAD',
      ...args,
    ]);
  async function listed(): Promise<string[]> {
    const { stdout } = await signedCurl([`${s3.endpoint?.replace(/\/$/, '')}/${s3.bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`]);
    return [...stdout.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1].slice(prefix.length));
  }

  it('dumps, uploads to S3 and restores into an empty database with the same schema and rows', async () => {
    const dumped = await backup('dump');
    expect(dumped.stdout).toMatch(/dumped \d+ bytes/);
    const uploaded = await backup('upload');
    const key = /uploaded s3:\/\/[^/]+\/(\S+)/.exec(uploaded.stdout)?.[1] ?? '';
    expect(key).toMatch(new RegExp(`^${prefix}chat4all-\\d{4}-\\d\\d-\\d\\dT\\d{6}Z\\.dump$`));
    expect(await listed()).toEqual(expect.arrayContaining(['latest', key.slice(prefix.length)]));

    await rm(path.join(dir, 'chat4all.dump')); // the restore must fetch it from S3
    // The two steps of k8s/extras/restore/postgres-restore.yaml: download "latest", then pg_restore.
    const downloaded = await backup('download');
    expect(downloaded.stdout).toContain(`downloaded s3://${s3.bucket}/${key}`);
    expect((await backup('pg-restore')).stdout).toMatch(/restored /);

    const [before, after] = [await snapshot(sourceDb), await snapshot(restoreDb)];
    expect(after.tables).toContain('messages');
    expect(after.probe).toHaveLength(500);
    expect(after).toEqual(before);
  }, 180_000);

  it('fails loudly: a wrong S3 key pair makes upload exit non-zero', async () => {
    await backup('dump');
    await expect(run('sh', [script, 'upload'], { env: { ...env(), S3_SECRET_KEY: 'wrong' }, timeout: 60_000 })).rejects.toMatchObject({
      code: expect.any(Number),
    });
  }, 120_000);
});
