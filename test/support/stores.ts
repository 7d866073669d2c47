/**
 * Which database the integration suites run on. PGlite always; PostgreSQL when TEST_DATABASE_URL
 * (or DATABASE_URL) is set. Under CI=true a missing PostgreSQL is a failure, never a skip.
 */
export type StoreKind = 'pglite' | 'postgres';

export const postgresUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
export const isCi = process.env.CI === 'true';

export function storeKinds(): StoreKind[] {
  if (postgresUrl) return ['pglite', 'postgres'];
  if (isCi) throw new Error('CI=true but neither TEST_DATABASE_URL nor DATABASE_URL is set: the PostgreSQL suites cannot run');
  console.warn('[chat4all tests] PostgreSQL suites skipped: set TEST_DATABASE_URL=postgres://… to run them');
  return ['pglite'];
}

// Each vitest run builds its own templates, named after the run's main process (the workers inherit
// the variable), so that runs sharing a machine or a PostgreSQL server never delete each other's.
export const RUN_ID = (process.env.CHAT4ALL_TEST_RUN ??= String(process.pid));
export const TEMPLATE_DB = `chat4all_tpl_${RUN_ID}`;
export const TEST_DB_PREFIX = `chat4all_t_${RUN_ID}_`;
export const PGLITE_TEMPLATE_DIR = new URL(`../../.tmp/pglite-template-${RUN_ID}/`, import.meta.url).pathname;
