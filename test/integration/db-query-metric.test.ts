/**
 * chat4all_db_query_duration_seconds is recorded by the store adapter itself, on PGlite and on
 * PostgreSQL alike, labelled by operation: each statement the application runs, inside a
 * transaction or not, adds one observation to its operation's series.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/compose.ts';
import { registry } from '../../src/metrics.ts';
import type { Database } from '../../src/ports/database.ts';
import { freshDatabase } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';

async function count(operation: string): Promise<number> {
  const text = await registry.metrics();
  return Number(new RegExp(`^chat4all_db_query_duration_seconds_count\\{operation="${operation}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

describe.each(storeKinds())('database query latency on %s', (kind) => {
  let db: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const fresh = await freshDatabase(kind);
    drop = fresh.drop;
    db = await openDatabase(loadConfig({ ...fresh.env, LOG_LEVEL: 'silent', ENVIRONMENT: 'test' }), pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('counts each statement once under its first keyword, in and out of transactions', async () => {
    const before = { show: await count('show'), select: await count('select'), begin: await count('begin'), commit: await count('commit') };
    await db.query('SHOW server_version');
    await db.transaction(async (tx) => {
      await tx.query('SELECT $1::int AS n', [1]);
      await tx.query('SELECT 2');
    }, 'metric-test');
    expect(await count('show')).toBe(before.show + 1);
    expect(await count('select')).toBe(before.select + 2);
    expect(await count('begin')).toBe(before.begin + 1);
    expect(await count('commit')).toBe(before.commit + 1);
  });

  it('times failed statements too, and the label never carries SQL text', async () => {
    const before = await count('select');
    await expect(db.query('SELECT * FROM no_such_table_for_metrics')).rejects.toThrow();
    expect(await count('select')).toBe(before + 1);
    const labels = [...(await registry.metrics()).matchAll(/^chat4all_db_query_duration_seconds_count\{operation="([^"]*)"\}/gm)].map((m) => m[1]);
    expect(labels.length).toBeGreaterThan(0);
    for (const label of labels) expect(label).toMatch(/^[a-z]+$/);
  });
});
