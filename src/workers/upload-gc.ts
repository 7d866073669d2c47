/** The upload garbage collector of embedded mode: `chat4all gc`'s work, run periodically in-process. */
import type { UploadCollector, CollectorSettings } from '../app/files/collector.ts';
import type { Logger } from '../app/logger.ts';

export interface UploadGcSchedule {
  /** Delay of the first run: not during startup. */
  firstRunMs: number;
  intervalMs: number;
}

export class UploadGcWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly collector: UploadCollector,
    private readonly settings: CollectorSettings,
    private readonly logger: Logger,
    private readonly schedule: UploadGcSchedule = { firstRunMs: 60_000, intervalMs: 60 * 60_000 },
  ) {}

  /** First run a minute after start, then hourly (by default). */
  start(): this {
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.running = this.runOnce().finally(() => {
          this.running = undefined;
          if (this.timer) tick(this.schedule.intervalMs);
        });
      }, delay);
      this.timer.unref();
    };
    tick(this.schedule.firstRunMs);
    return this;
  }

  private async runOnce(): Promise<void> {
    try {
      const summary = await this.collector.collect(this.settings);
      const level = summary.failures > 0 ? 'warn' : summary.uploads_removed + summary.orphans_removed > 0 ? 'info' : 'debug';
      this.logger[level](summary, 'upload garbage collection finished');
    } catch (e) {
      this.logger.error({ err: e }, 'upload garbage collection failed');
    }
  }

  /** Stops the timer and lets a run in progress finish. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
