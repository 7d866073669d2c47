/** Role `webhooks`: events from the `webhooks` topic become deliveries; due deliveries are sent on a poll and after each batch. */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import { WEBHOOKS_TOPIC } from '../domain/log-topics.ts';
import type { WebhookDispatcher } from '../app/webhooks/dispatcher.ts';
import type { Logger } from '../app/logger.ts';
import { consume } from './consume.ts';
import { Periodic } from './periodic.ts';
import { DrainLoop } from './drain-loop.ts';

const BATCH = 50;
// Finished deliveries stay listed (GET …/deliveries, replay) for 30 days.
const RETENTION_MS = 30 * 86_400_000;

export class WebhookWorker {
  private readonly timers = new Periodic();
  private subscription: Subscription | undefined;
  private readonly loop: DrainLoop;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {
    this.loop = new DrainLoop(() => this.dispatcher.deliverDue(BATCH), logger.child({ component: 'worker.webhooks' }), 'webhook dispatch failed');
  }

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
    this.loop.wake();
  }

  /** Stops consuming and polling; attempts in flight finish first. */
  async stop(): Promise<void> {
    this.timers.stop();
    await this.subscription?.stop();
    await this.loop.stop();
  }
}
