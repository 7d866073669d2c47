/** Builds migrated templates once per run: a PGlite directory and a PostgreSQL template database. */
import { rm, mkdir } from 'node:fs/promises';
import pg from 'pg';
import { PgliteDatabase } from '../../src/adapters/store/pglite.ts';
import { PostgresDatabase } from '../../src/adapters/store/postgres.ts';
import { migrate } from '../../src/adapters/store/migrate.ts';
import { PGLITE_TEMPLATE_DIR, TEMPLATE_DB, postgresUrl, isCi } from './stores.ts';

export default async function setup(): Promise<void> {
  await rm(PGLITE_TEMPLATE_DIR, { recursive: true, force: true });
  await mkdir(PGLITE_TEMPLATE_DIR, { recursive: true });
  const lite = await PgliteDatabase.open(PGLITE_TEMPLATE_DIR);
  await migrate(lite);
  await lite.close();

  if (!postgresUrl) return;
  const admin = new pg.Client({ connectionString: postgresUrl });
  try {
    await admin.connect();
  } catch (e) {
    if (isCi) throw new Error(`PostgreSQL at ${postgresUrl} is not reachable`, { cause: e });
    throw e;
  }
  // Leftover databases of earlier runs go first; then a fresh migrated template.
  const old = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'chat4all_t_%' OR datname = $1`, [TEMPLATE_DB]);
  for (const row of old.rows) await admin.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${TEMPLATE_DB}"`);
  await admin.end();
  const db = new PostgresDatabase(withDatabase(postgresUrl, TEMPLATE_DB), 2);
  await migrate(db);
  await db.close();
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
