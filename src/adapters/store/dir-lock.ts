import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { DatabaseInUse } from '../../ports/database.ts';

/** Lock files this process holds: a second open in the same process is refused too. */
const held = new Set<string>();

/**
 * Takes `file` as an exclusive lock naming this process's pid, and returns its release. A lock
 * whose pid is not running any more (a crash, a kill -9) is taken over. The file is created by
 * link(2) from a file already holding the pid, so nobody ever reads a lock without its owner.
 */
export function takeLock(file: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    const mine = `${file}.${process.pid}`;
    writeFileSync(mine, `${process.pid}\n`);
    try {
      linkSync(mine, file);
      held.add(file);
      return () => release(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(mine);
    }
    const owner = ownerOf(file);
    const isOurs = owner === process.pid && held.has(file);
    // Our own pid without our own hold: a previous run in a container that got the same pid.
    if (owner !== undefined && (isOurs || (owner !== process.pid && isRunning(owner)))) throw new DatabaseInUse(file, owner);
    removeIfOwnedBy(file, owner);
  }
  throw new DatabaseInUse(file, ownerOf(file));
}

function release(file: string): void {
  if (!held.delete(file)) return;
  removeIfOwnedBy(file, process.pid);
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the lock if it still names `owner` (another process may have taken it over meanwhile). */
function removeIfOwnedBy(file: string, owner: number | undefined): void {
  if (ownerOf(file) !== owner) return;
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
