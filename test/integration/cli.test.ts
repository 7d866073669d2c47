import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/harness.ts';
import { freePort, spawnChat4all } from '../support/process.ts';

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

  // Each command opens PGlite afresh (~10 s on this 2-core machine when quiet, several times that when busy).
  const chat4all = (...args: string[]) => run(process.execPath, [BIN, ...args], { env, timeout: 120_000 });

  it('migrates, creates and lists users, and shows an empty dead-letter queue', async () => {
    await chat4all('migrate');
    const created = await chat4all('users', 'create', 'operator', 'password123', 'The', 'Operator');
    expect(JSON.parse(created.stdout)).toMatchObject({ username: 'operator', display_name: 'The Operator' });
    const listed = await chat4all('users', 'list');
    expect(listed.stdout).toMatch(/^\d+\toperator\tThe Operator\t/m);
    const dlq = await chat4all('dlq', 'list');
    expect(dlq.stdout).toBe('');
    expect(dlq.stderr).toContain('the dead-letter queue is empty');
  }, 300_000);

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

describe('chat4all --help and errors', () => {
  let scratch: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'chat4all-cli-'));
    // A DATA_DIR that does not exist yet: a command that does anything at all creates it.
    env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', DATA_DIR: path.join(scratch, 'data'), PORT: '0' };
  });
  afterAll(async () => rm(scratch, { recursive: true, force: true }));

  const chat4all = (...args: string[]) => run(process.execPath, [BIN, ...args], { env, timeout: 30_000 });
  const isOneLine = (text: string) => text.trim().split('\n').length === 1 && !/\n\s+at /.test(text);

  it.each([['start'], ['api'], ['worker'], ['migrate'], ['gc'], ['users'], ['dlq'], ['dlq', 'replay', '999'], ['users', 'create', 'x', 'y']])(
    'chat4all %s --help prints its usage and does nothing else',
    async (...argv) => {
      const { stdout, stderr } = await chat4all(...argv, '--help');
      expect(stdout).toMatch(new RegExp(`^usage: chat4all ${argv[0]}`));
      expect(stdout).toContain('--help');
      expect(stderr).toBe('');
      expect(existsSync(env.DATA_DIR), 'DATA_DIR was created').toBe(false);
    },
  );

  it('chat4all --help and chat4all help <command> list the commands and their usage', async () => {
    expect((await chat4all('--help')).stdout).toMatch(/^usage: chat4all <command>[\s\S]*\bgc\b/);
    expect((await chat4all('help', 'dlq')).stdout).toMatch(/^usage: chat4all dlq list/);
  });

  it.each([['gc', '--dry-run'], ['start', 'now'], ['worker', '--role', 'relay'], ['dlq', 'replay', '--all', '3'], ['users', 'create', 'alice'], ['nonsense']])(
    'chat4all %s is one line on stderr and exit 2, and does nothing',
    async (...argv) => {
      const failure = await chat4all(...argv).then(
        () => undefined,
        (e: { code: number; stderr: string; stdout: string }) => e,
      );
      expect(failure?.code).toBe(2);
      expect(failure?.stdout).toBe('');
      expect(isOneLine(failure?.stderr ?? ''), failure?.stderr).toBe(true);
      expect(failure?.stderr).toMatch(/^chat4all: /);
      expect(existsSync(env.DATA_DIR), 'DATA_DIR was created').toBe(false);
    },
  );

  it('reads ./.env under the real environment, which wins', async () => {
    const cwd = path.join(scratch, 'project');
    await mkdir(cwd, { recursive: true });
    await writeFile(path.join(cwd, '.env'), 'PORT=not-a-port\nLOG_LEVEL=loud\n');
    const { PORT: _port, ...withoutPort } = env;
    const failure = await run(process.execPath, [BIN, 'migrate'], { cwd, env: withoutPort, timeout: 30_000 }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('PORT must be an integer');
    // LOG_LEVEL=warn from the environment overrides the file's "loud".
    expect(failure?.stderr).not.toContain('LOG_LEVEL');
    expect(existsSync(env.DATA_DIR)).toBe(false);
  }, 60_000);

  it('a domain error is one line with its documented code and exit 1, never a stack', async () => {
    const db = await freshDatabase('pglite');
    try {
      const failure = await run(process.execPath, [BIN, 'dlq', 'replay', '999'], { env: { ...env, ...db.env }, timeout: 60_000 }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(failure?.code).toBe(1);
      const lines = (failure?.stderr ?? '').split('\n').filter((l) => l && !l.startsWith('{'));
      expect(lines).toEqual([expect.stringMatching(/^chat4all: .*\(dead-letter-not-found\)$/)]);
      expect(failure?.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await db.drop();
    }
  }, 60_000);
});

describe('one process per embedded database', () => {
  it('a CLI command beside a running server fails with one clear line; after a crash the stale lock is taken over', async () => {
    const db = await freshDatabase('pglite');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', DEMO_USERS: 'false', ...db.env };
    const chat4all = (...args: string[]) => run(process.execPath, [BIN, ...args], { env, timeout: 60_000 });
    const server = await spawnChat4all(['start'], env, await freePort(), 90_000);
    try {
      const refused = await chat4all('users', 'create', 'cliuser', 'password123').then(
        () => undefined,
        (e: { code: number; stderr: string; stdout: string }) => e,
      );
      expect(refused?.code).toBe(1);
      expect(refused?.stdout).toBe('');
      expect(refused?.stderr.trim()).toMatch(
        new RegExp(`^chat4all: the embedded database is in use by another chat4all process \\(pid ${server.child.pid}, lock [^)]*db\\.lock\\)`),
      );
      expect(refused?.stderr.trim().split('\n')).toHaveLength(1);
      await server.kill();
      // SIGKILL left the lock behind with a pid that no longer runs.
      const created = await chat4all('users', 'create', 'cliuser', 'password123');
      expect(JSON.parse(created.stdout)).toMatchObject({ username: 'cliuser' });
      expect((await chat4all('users', 'list')).stdout).toMatch(/\tcliuser\t/);
    } finally {
      await server.kill();
      await db.drop();
    }
  }, 240_000);
});

describe('npm start under a service manager', () => {
  it('SIGTERM to npm stops the server too (npm forwards it, and the script execs node)', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat4all-npm-'));
    const port = await freePort();
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const npm = spawn('npm', ['start'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOG_LEVEL: 'warn',
        DATA_DIR: dataDir,
        PORT: String(port),
        METRICS_PORT: String(port),
      },
      stdio: 'ignore',
    });
    const health = () =>
      fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
    try {
      const deadline = Date.now() + 120_000;
      while (!(await health())) {
        expect(Date.now() < deadline && npm.exitCode === null, 'npm start serves /health').toBe(true);
        await new Promise((r) => setTimeout(r, 200));
      }
      npm.kill('SIGTERM');
      const stoppedBy = Date.now() + 20_000;
      while ((await health()) && Date.now() < stoppedBy) await new Promise((r) => setTimeout(r, 200));
      expect(await health(), 'the server still answers after npm got SIGTERM').toBe(false);
    } finally {
      npm.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
