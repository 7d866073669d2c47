import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseInUse } from '../../ports/database.ts';
import { takeLock } from './dir-lock.ts';

describe('takeLock', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'chat4all-lock-'));
    file = path.join(dir, 'db.lock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the owner pid, refuses a second taker, and frees the file on release', () => {
    const release = takeLock(file);
    expect(readFileSync(file, 'utf8').trim()).toBe(String(process.pid));
    expect(() => takeLock(file)).toThrow(DatabaseInUse);
    release();
    expect(existsSync(file)).toBe(false);
    takeLock(file)();
  });

  it('refuses a lock held by another running process, naming its pid', () => {
    writeFileSync(file, `${process.ppid}\n`);
    expect(() => takeLock(file)).toThrow(new RegExp(`pid ${process.ppid}`));
    expect(readFileSync(file, 'utf8').trim()).toBe(String(process.ppid));
  });

  it('takes over the lock of a process that is gone', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(file, `${dead}\n`);
    const release = takeLock(file);
    expect(readFileSync(file, 'utf8').trim()).toBe(String(process.pid));
    release();
  });

  it('takes over an unreadable lock, and one naming its own pid that it does not hold (a restarted container)', () => {
    writeFileSync(file, 'garbage');
    takeLock(file)();
    writeFileSync(file, `${process.pid}\n`);
    takeLock(file)();
    expect(existsSync(file)).toBe(false);
  });
});
