/**
 * A commit in one process wakes the outbox relay in another: NOTIFY on PostgreSQL, heard by a
 * LISTEN connection of the relay's own. The relay below polls only every ten minutes, so a relay
 * run within seconds can only come from the announcement.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresDatabase } from '../../src/adapters/store/postgres.ts';
import { PgliteDatabase } from '../../src/adapters/store/pglite.ts';
import { OutboxSignal } from '../../src/app/delivery/outbox-signal.ts';
import type { OutboxRelay } from '../../src/app/delivery/outbox-relay.ts';
import { RelayWorker } from '../../src/workers/relay.ts';
import { createLogger } from '../../src/logger.ts';
import type { Database } from '../../src/ports/database.ts';
import { eventually, freshDatabase } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';

const quiet = createLogger('silent');

async function open(kind: string, env: Record<string, string>): Promise<Database> {
  return kind === 'postgres' ? new PostgresDatabase(env.DATABASE_URL, 2) : PgliteDatabase.open(path.join(env.DATA_DIR, 'db'));
}

describe.each(storeKinds())('database LISTEN/NOTIFY on %s', (kind) => {
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  let db: Database;
  beforeAll(async () => {
    fresh = await freshDatabase(kind);
    db = await open(kind, fresh.env);
  });
  afterAll(async () => {
    await db?.close();
    await fresh?.drop();
  });

  it('hears a NOTIFY on its channel, not on others, until it stops listening', async () => {
    const heard: string[] = [];
    const stopA = await db.listen('chat4all_test_a', () => heard.push('a'));
    const stopB = await db.listen('chat4all_test_b', () => heard.push('b'));
    await db.query("SELECT pg_notify('chat4all_test_a', NULL)");
    await eventually(() => heard.includes('a'));
    expect(heard).toEqual(['a']);
    await stopA();
    await db.query("SELECT pg_notify('chat4all_test_a', NULL)");
    await db.query("SELECT pg_notify('chat4all_test_b', NULL)");
    await eventually(() => heard.includes('b'));
    expect(heard).toEqual(['a', 'b']);
    await stopB();
  });
});

describe.runIf(storeKinds().includes('postgres'))('outbox announcements across processes (postgres)', () => {
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  let apiDb: Database;
  let relayDb: Database;
  beforeAll(async () => {
    fresh = await freshDatabase('postgres');
    apiDb = await open('postgres', fresh.env);
    relayDb = await open('postgres', fresh.env);
  });
  afterAll(async () => {
    await apiDb?.close();
    await relayDb?.close();
    await fresh?.drop();
  });

  it('a commit announced by one connection pool wakes the relay listening on another, long before its poll', async () => {
    let runs = 0;
    const relay = { relay: async () => (runs++, 0) } as unknown as OutboxRelay;
    const worker = new RelayWorker(relay, new OutboxSignal(relayDb, quiet), quiet, 600_000);
    await worker.start();
    try {
      await eventually(() => runs === 1); // the wake at start
      const announcer = new OutboxSignal(apiDb, quiet);
      announcer.notify();
      await eventually(() => runs >= 2, 5_000);
      // A burst of announcements coalesces: a few NOTIFYs at most, never one per call.
      const before = runs;
      for (let i = 0; i < 50; i++) announcer.notify();
      await eventually(() => runs > before, 5_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(runs - before).toBeLessThanOrEqual(3);
    } finally {
      await worker.stop();
    }
  });
});
