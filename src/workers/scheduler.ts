/** Role `scheduler`: due retries and expired leases, the unrouted sweep, backlog gauges, outbox pruning. */
import type { Recovery } from '../app/delivery/recovery.ts';
import type { Housekeeping } from '../app/delivery/housekeeping.ts';
import type { Logger } from '../app/logger.ts';
import { Periodic } from './periodic.ts';

// Published outbox rows are kept an hour for inspection, then deleted.
const OUTBOX_RETENTION_MS = 3_600_000;

export interface SchedulerOptions {
  pollMs: number;
  /** Age after which an accepted but unrouted message is re-published (safety net). */
  unroutedAfterMs: number;
  /** A single process with a non-durable log: whatever was in flight died with the previous process. */
  isRecoveringAtStart: boolean;
}

export class Scheduler {
  private readonly timers = new Periodic();

  constructor(
    private readonly recovery: Recovery,
    private readonly housekeeping: Housekeeping,
    private readonly logger: Logger,
    private readonly options: SchedulerOptions,
  ) {}

  async start(): Promise<void> {
    const { pollMs, unroutedAfterMs, isRecoveringAtStart } = this.options;
    if (isRecoveringAtStart) {
      const unrouted = await this.recovery.recoverUnrouted(0, 100_000);
      const pending = await this.recovery.dispatchDue(100_000, true);
      if (unrouted + pending > 0) this.logger.warn({ unrouted, pending }, 'recovered in-flight work after restart');
    }
    const guard = (what: string, work: () => Promise<unknown>) => () => work().catch((e: unknown) => this.logger.error({ err: e }, `${what} failed`));
    this.timers.every(
      pollMs,
      guard('dispatch', () => this.recovery.dispatchDue(1000)),
    );
    this.timers.every(
      Math.max(1000, unroutedAfterMs / 2),
      guard('recovery sweep', () => this.recovery.recoverUnrouted(unroutedAfterMs, 10_000)),
    );
    this.timers.every(
      5000,
      guard('backlog sample', () => this.housekeeping.sampleBacklog()),
    );
    this.timers.every(
      60_000,
      guard('outbox pruning', () => this.housekeeping.pruneOutbox(OUTBOX_RETENTION_MS, 10_000)),
    );
  }

  stop(): void {
    this.timers.stop();
  }
}
