/**
 * Role `relay`: drains the outbox into the event log when this process accepts a message, when
 * another process announces outbox rows (NOTIFY), and on a poll that covers lost announcements.
 */
import type { OutboxRelay } from '../app/delivery/outbox-relay.ts';
import type { OutboxSignal } from '../app/delivery/outbox-signal.ts';
import type { Logger } from '../app/logger.ts';
import { detached } from '../tracing.ts';
import { Periodic } from './periodic.ts';

const BATCH = 500;

export class RelayWorker {
  private readonly timers = new Periodic();
  private running: Promise<void> | undefined;
  private isAgain = false;
  private isStopping = false;
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly relay: OutboxRelay,
    private readonly signal: OutboxSignal,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {}

  async start(): Promise<void> {
    try {
      this.stopListening = await this.signal.listen(() => this.wake());
    } catch (e) {
      this.logger.warn({ err: e }, 'outbox announcements unavailable; the relay polls only');
    }
    this.timers.every(this.pollMs, () => this.wake());
    this.wake();
  }

  /** Asks the relay to drain the outbox now (called after each accepted message in this process). */
  wake(): void {
    if (this.isStopping) return;
    if (this.running) {
      this.isAgain = true;
      return;
    }
    // Woken by a send inside its request's span: the relay's batches belong to no single trace.
    this.running = detached(() => this.drain()).finally(() => {
      this.running = undefined;
      if (this.isAgain) {
        this.isAgain = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.isStopping && (await this.relay.relay(BATCH)) > 0);
    } catch (e) {
      this.logger.error({ err: e }, 'outbox relay failed');
    }
  }

  /** Stops polling; the batch in flight finishes first. */
  async stop(): Promise<void> {
    this.isStopping = true;
    this.timers.stop();
    await this.stopListening?.();
    await this.running;
  }
}
