/**
 * Runs `step` until it reports no more work, when woken; a wake during a run makes one more run
 * follow it, so work announced meanwhile is never missed and runs never overlap.
 */
import type { Logger } from '../app/logger.ts';
import { detached } from '../tracing.ts';

export class DrainLoop {
  private running: Promise<void> | undefined;
  private isAgain = false;
  private isStopping = false;

  /** `step` handles one batch and resolves with how many items it handled (0: nothing left). */
  constructor(
    private readonly step: () => Promise<number>,
    private readonly logger: Logger,
    private readonly failure: string,
  ) {}

  wake(): void {
    if (this.isStopping) return;
    if (this.running) {
      this.isAgain = true;
      return;
    }
    // Woken from inside a request's span: the batches belong to no single trace.
    this.running = detached(() => this.drain()).finally(() => {
      this.running = undefined;
      if (this.isAgain) {
        this.isAgain = false;
        this.wake();
      }
    });
  }

  /** Takes no more wakes; resolves once the run in flight has finished. */
  async stop(): Promise<void> {
    this.isStopping = true;
    await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (!this.isStopping && (await this.step()) > 0);
    } catch (e) {
      this.logger.error({ err: e }, this.failure);
    }
  }
}
