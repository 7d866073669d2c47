/** Builds migrated templates once per run: a PGlite directory and a PostgreSQL template database. */
import { readdir, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { PgliteDatabase } from '../../src/adapters/store/pglite.ts';
import { PostgresDatabase } from '../../src/adapters/store/postgres.ts';
import { migrate } from '../../src/adapters/store/migrate.ts';
import { PGLITE_TEMPLATE_DIR, TEMPLATE_DB, TEST_DB_PREFIX, postgresUrl, isCi } from './stores.ts';

export default async function setup(): Promise<() => Promise<void>> {
  await removeDeadRunsTemplates();
  await mkdir(PGLITE_TEMPLATE_DIR, { recursive: true });
  const lite = await PgliteDatabase.open(PGLITE_TEMPLATE_DIR);
  await migrate(lite);
  await lite.close();

  if (!postgresUrl) return teardown;
  const admin = new pg.Client({ connectionString: postgresUrl });
  try {
    await admin.connect();
  } catch (e) {
    if (isCi) throw new Error(`PostgreSQL at ${postgresUrl} is not reachable`, { cause: e });
    throw e;
  }
  // Leftover databases of runs that are gone go first (never those of a run still going); then a fresh migrated template.
  const old = await admin.query(`SELECT datname FROM pg_database WHERE datname ~ '^chat4all_(t_[0-9]+_|tpl_[0-9]+$)'`);
  for (const row of old.rows) if (!isRunAlive(String(row.datname).split('_')[2])) await admin.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${TEMPLATE_DB}"`);
  await admin.end();
  const db = new PostgresDatabase(withDatabase(postgresUrl, TEMPLATE_DB), 2);
  await migrate(db);
  await db.close();
  return teardown;
}

/** Removes this run's templates and databases. */
async function teardown(): Promise<void> {
  await rm(PGLITE_TEMPLATE_DIR, { recursive: true, force: true });
  if (!postgresUrl) return;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  const mine = await admin.query(`SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR datname = $2`, [TEST_DB_PREFIX, TEMPLATE_DB]);
  for (const row of mine.rows) await admin.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
  await admin.end();
}

/** PGlite templates of runs whose process is gone (e.g. killed before teardown). */
async function removeDeadRunsTemplates(): Promise<void> {
  const root = path.dirname(PGLITE_TEMPLATE_DIR);
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const name of entries) {
    const run = /^pglite-template-(\d+)$/.exec(name)?.[1];
    if (run && !isRunAlive(run)) await rm(path.join(root, name), { recursive: true, force: true });
  }
}

function isRunAlive(pid: string): boolean {
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
