/**
 * Migration 003 on data from before case-insensitive usernames: accounts that differ only by case
 * all keep working (the exact spelling signs in; any other spelling reaches the oldest account),
 * and no new twin can be registered.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash } from '@node-rs/argon2';
import { PgliteDatabase } from '../../src/adapters/store/pglite.ts';
import { startOn, type TestInstance } from '../support/harness.ts';
import { expectProblem } from '../support/factories.ts';

const MIGRATIONS = fileURLToPath(new URL('../../src/adapters/store/migrations/', import.meta.url));
const BEFORE = ['001-core', '002-files'];

describe('usernames that differ only by case, from before migration 003', () => {
  let c4: TestInstance;
  let ids: Record<string, number>;
  beforeAll(async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat4all-case-'));
    const db = await PgliteDatabase.open(path.join(dataDir, 'db'));
    await db.query('CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    for (const version of BEFORE) {
      const sql = await readFile(path.join(MIGRATIONS, `${version}.sql`), 'utf8');
      for (const statement of sql
        .split(/;\s*$/m)
        .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
        .filter(Boolean))
        await db.query(statement);
      await db.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
    }
    ids = {};
    for (const [name, password] of [
      ['Twin', 'password-one'],
      ['TWIN', 'password-two'],
      ['twin', 'password-three'],
      ['solo', 'password-four'],
    ]) {
      const [row] = await db.query<{ id: number }>('INSERT INTO users (username, display_name, password_hash) VALUES ($1, $1, $2) RETURNING id', [
        name,
        await hash(password),
      ]);
      ids[name] = Number(row.id);
    }
    await db.close();
    // Starting migrates: 003 runs on these rows.
    c4 = await startOn('pglite', { env: { DATA_DIR: dataDir }, drop: () => rm(dataDir, { recursive: true, force: true }) }, { DEMO_USERS: 'false' });
  }, 60_000);
  afterAll(async () => c4?.close());

  const signIn = (username: string, password: string) => c4.request('POST', '/auth/token', { body: { username, password } });
  const who = async (res: { body: { access_token: string } }) => (await c4.request('GET', '/auth/me', { token: res.body.access_token })).body.user_id;

  it('gives the oldest account the plain key and the later twins keys no username can take', async () => {
    const rows = await c4.query<{ username: string; username_key: string }>('SELECT username, username_key FROM users ORDER BY id');
    expect(rows).toEqual([
      { username: 'Twin', username_key: 'twin' },
      { username: 'TWIN', username_key: `twin#${ids.TWIN}` },
      { username: 'twin', username_key: `twin#${ids.twin}` },
      { username: 'solo', username_key: 'solo' },
    ]);
  });

  it('signs each twin in with its exact spelling, and any other spelling into the oldest', async () => {
    expect(await who(await signIn('TWIN', 'password-two'))).toBe(ids.TWIN);
    expect(await who(await signIn('twin', 'password-three'))).toBe(ids.twin);
    expect(await who(await signIn('Twin', 'password-one'))).toBe(ids.Twin);
    expect(await who(await signIn('tWiN', 'password-one'))).toBe(ids.Twin);
    expectProblem(await signIn('tWiN', 'password-two'), 401, 'invalid-credentials');
    expect(await who(await signIn('SOLO', 'password-four'))).toBe(ids.solo);
  });

  it('registers no further twin', async () => {
    for (const username of ['tWIN', 'Solo'])
      expectProblem(await c4.request('POST', '/auth/register', { body: { username, password: 'password123' } }), 409, 'username-taken');
  });
});
