/**
 * This process in the `instances` table, with a heartbeat, so that work it claims (upload chunks,
 * tus locks) can be told from work left behind by a crashed process: such claims are void and a
 * retry takes them over. A process is gone when its row is missing or its heartbeat is older than
 * INSTANCE_LEASE_SECONDS; on start, a process also removes the rows of processes on its own host
 * that are provably dead (pid gone, or its own pid from an earlier start), so a restart frees them at once.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Database } from '../ports/database.ts';
import type { Logger } from './logger.ts';

const HEARTBEAT_MS = 3_000;
/** A process that has not beaten for this long is taken to be gone. */
export const INSTANCE_LEASE_SECONDS = 10;

/** SQL: true when the process `owner` (a UUID expression) is gone, so that what it claimed is void. */
export const isOwnerGoneSql = (owner: string) =>
  `NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = ${owner} AND i.heartbeat_at > now() - interval '${INSTANCE_LEASE_SECONDS} seconds')`;

export interface ProcessIdentity {
  hostname: string;
  pid: number;
  startedAt: Date;
  /** Whether a process with this pid runs on this host. */
  isRunning(pid: number): boolean;
}

export const thisProcess = (): ProcessIdentity => ({
  hostname: os.hostname(),
  pid: process.pid,
  startedAt: new Date(Date.now() - process.uptime() * 1000),
  isRunning: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      // EPERM: it exists but belongs to another user.
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
});

export class Instance {
  readonly id = randomUUID();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly db: Database,
    private readonly identity: ProcessIdentity,
    private readonly logger: Logger,
  ) {}

  /** Registers this process and starts its heartbeat. */
  static async register(db: Database, logger: Logger, identity: ProcessIdentity = thisProcess()): Promise<Instance> {
    const instance = new Instance(db, identity, logger);
    await instance.removeDeadNeighbours();
    await instance.upsert();
    instance.timer = setInterval(() => void instance.beat(), HEARTBEAT_MS);
    instance.timer.unref();
    return instance;
  }

  /** Stops the heartbeat and removes the row: what this process still claims is void at once. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.db.query('DELETE FROM instances WHERE id = $1', [this.id]).catch((e: unknown) => this.logger.debug({ err: e }, 'instance row not removed'));
  }

  private async beat(): Promise<void> {
    try {
      const rows = await this.db.query('UPDATE instances SET heartbeat_at = now() WHERE id = $1 RETURNING 1', [this.id]);
      // Removed by someone who took this process for dead (a long pause): claim liveness again.
      if (rows.length === 0 && this.timer) await this.upsert();
    } catch (e) {
      this.logger.warn({ err: e }, 'instance heartbeat failed; upload claims of this process may be taken over');
    }
  }

  private upsert(): Promise<unknown> {
    const { hostname, pid, startedAt } = this.identity;
    return this.db.query(
      `INSERT INTO instances (id, hostname, pid, process_started_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [this.id, hostname, pid, startedAt.toISOString()],
    );
  }

  /**
   * Rows of this host whose process is dead: another pid that no longer runs, or this pid from a
   * process that started before this one (a restarted container is pid 1 again). Rows of this very
   * process (several instances in one process, as in tests) are kept.
   */
  private async removeDeadNeighbours(): Promise<void> {
    const { hostname, pid, startedAt, isRunning } = this.identity;
    // Crashed processes of other hosts stop mattering after their lease; their rows need not pile up.
    await this.db.query(`DELETE FROM instances WHERE heartbeat_at < now() - interval '1 day'`);
    const rows = await this.db.query('SELECT id, pid, process_started_at FROM instances WHERE hostname = $1', [hostname]);
    const dead = rows
      .filter((r) => (Number(r.pid) === pid ? new Date(r.process_started_at as string).getTime() < startedAt.getTime() - 1000 : !isRunning(Number(r.pid))))
      .map((r) => String(r.id));
    if (dead.length === 0) return;
    await this.db.query('DELETE FROM instances WHERE id = ANY($1::uuid[])', [dead]);
    this.logger.info({ instances: dead.length }, 'removed instances of crashed processes on this host; their upload claims are void');
  }
}
