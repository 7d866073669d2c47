import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/harness.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/chat4all.js', import.meta.url));

describe('chat4all command line', () => {
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await freshDatabase('pglite');
    drop = db.drop;
    env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', DEMO_USERS: 'false', ...db.env };
  });
  afterAll(async () => drop?.());

  const chat4all = (...args: string[]) => run(process.execPath, [BIN, ...args], { env, timeout: 60_000 });

  it('migrates, creates and lists users, and shows an empty dead-letter queue', async () => {
    await chat4all('migrate');
    const created = await chat4all('users', 'create', 'operator', 'password123', 'The', 'Operator');
    expect(JSON.parse(created.stdout)).toMatchObject({ username: 'operator', display_name: 'The Operator' });
    const listed = await chat4all('users', 'list');
    expect(listed.stdout).toMatch(/^\d+\toperator\tThe Operator\t/m);
    const dlq = await chat4all('dlq', 'list');
    expect(dlq.stdout).toBe('');
    expect(dlq.stderr).toContain('the dead-letter queue is empty');
  }, 120_000);

  it('refuses bad usage with a non-zero exit and a usage line', async () => {
    await expect(chat4all('frobnicate')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command') });
    await expect(chat4all('dlq', 'replay', 'abc')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('positive integers') });
    await expect(chat4all('worker', '--roles', 'router,nonsense')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown worker role') });
  }, 120_000);

  it('reports every configuration problem and exits 1', async () => {
    const bad = run(process.execPath, [BIN, 'migrate'], { env: { ...env, PORT: 'x', DATABASE_URL: 'mysql://nope' }, timeout: 60_000 });
    await expect(bad).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/PORT[\s\S]*DATABASE_URL|DATABASE_URL[\s\S]*PORT/) });
  }, 60_000);
});
