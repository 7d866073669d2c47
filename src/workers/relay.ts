/**
 * Role `relay`: drains the outbox into the event log when this process accepts a message, when
 * another process announces outbox rows (NOTIFY), and on a poll that covers lost announcements.
 */
import type { OutboxRelay } from '../app/delivery/outbox-relay.ts';
import type { OutboxSignal } from '../app/delivery/outbox-signal.ts';
import type { Logger } from '../app/logger.ts';
import { Periodic } from './periodic.ts';
import { DrainLoop } from './drain-loop.ts';

const BATCH = 500;

export class RelayWorker {
  private readonly timers = new Periodic();
  private readonly loop: DrainLoop;
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly relay: OutboxRelay,
    private readonly signal: OutboxSignal,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {
    this.loop = new DrainLoop(() => this.relay.relay(BATCH), logger, 'outbox relay failed');
  }

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
    this.loop.wake();
  }

  /** Stops polling; the batch in flight finishes first. */
  async stop(): Promise<void> {
    this.timers.stop();
    await this.stopListening?.();
    await this.loop.stop();
  }
}
