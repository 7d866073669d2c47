/** Role `webhooks`: events from the `webhooks` topic become deliveries; due deliveries are sent on a poll and after each batch. */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import { WEBHOOKS_TOPIC } from '../domain/log-topics.ts';
import type { WebhookDispatcher } from '../app/webhooks/dispatcher.ts';
import type { Logger } from '../app/logger.ts';
import { detached } from '../tracing.ts';
import { consume } from './consume.ts';
import { Periodic } from './periodic.ts';

const BATCH = 50;
// Finished deliveries stay listed (GET …/deliveries, replay) for 30 days.
const RETENTION_MS = 30 * 86_400_000;

export class WebhookWorker {
  private readonly timers = new Periodic();
  private subscription: Subscription | undefined;
  private running: Promise<void> | undefined;
  private isAgain = false;
  private isStopping = false;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (!this.log.isDurable) await this.dispatcher.recoverPublished();
    this.subscription = await consume(this.log, this.logger, 'webhooks', [WEBHOOKS_TOPIC], async (records) => {
      await this.dispatcher.materialize(records.map((r) => r.value));
      this.wake();
    });
    this.timers.every(this.dispatcher.settings.pollMs, () => this.wake());
    this.timers.every(5000, () => this.dispatcher.sampleBacklog().catch((e: unknown) => this.logger.warn({ err: e }, 'webhook backlog sample failed')));
    this.timers.every(600_000, () => this.dispatcher.prune(RETENTION_MS, 10_000).catch((e: unknown) => this.logger.warn({ err: e }, 'webhook pruning failed')));
    this.wake();
  }

  /** Sends what is due now; a wake during a run makes another run follow it. */
  wake(): void {
    if (this.isStopping) return;
    if (this.running) {
      this.isAgain = true;
      return;
    }
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
      while (!this.isStopping && (await this.dispatcher.deliverDue(BATCH)) > 0);
    } catch (e) {
      this.logger.child({ component: 'worker.webhooks' }).error({ err: e }, 'webhook dispatch failed');
    }
  }

  /** Stops consuming and polling; attempts in flight finish first. */
  async stop(): Promise<void> {
    this.isStopping = true;
    this.timers.stop();
    await this.subscription?.stop();
    await this.running;
  }
}
