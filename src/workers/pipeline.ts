/**
 * Runs this process's pipeline roles, one module each: relay.ts, router.ts, connectors.ts,
 * status.ts, inbound.ts, scheduler.ts, push.ts. The stages they run live in app/delivery/.
 */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import type { DeliveryStages } from '../app/delivery/stages.ts';
import type { Logger } from '../app/logger.ts';
import type { Role } from '../config.ts';
import { RelayWorker } from './relay.ts';
import { startRouter } from './router.ts';
import { startConnectors } from './connectors.ts';
import { startStatus } from './status.ts';
import { startInbound } from './inbound.ts';
import { Scheduler } from './scheduler.ts';
import { startPush } from './push.ts';
import { WebhookWorker } from './webhooks.ts';

export interface PipelineOptions {
  relayPollMs: number;
  schedulerPollMs: number;
  /** Age after which an accepted but unrouted message is re-published (safety net). */
  unroutedAfterMs: number;
}

export class Pipeline {
  private subscriptions: Subscription[] = [];
  private readonly relay: RelayWorker;
  private scheduler: Scheduler | undefined;
  private isRelayStarted = false;
  private webhooks: WebhookWorker | undefined;

  constructor(
    private readonly stages: DeliveryStages,
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly options: PipelineOptions,
  ) {
    this.relay = new RelayWorker(stages.relay, stages.outboxSignal, logger.child({ component: 'worker.relay' }), options.relayPollMs);
  }

  async start(roles: readonly Role[]): Promise<void> {
    const { stages, log, logger } = this;
    if (roles.includes('router')) this.subscriptions.push(await startRouter(log, stages.router, logger));
    if (roles.includes('connectors')) this.subscriptions.push(await startConnectors(log, stages.sender, logger));
    if (roles.includes('status')) this.subscriptions.push(await startStatus(log, stages.statuses, logger));
    if (roles.includes('inbound')) this.subscriptions.push(await startInbound(log, stages.inbound, logger));
    if (roles.includes('push')) {
      if (stages.push) this.subscriptions.push(await startPush(log, stages.push, logger));
      else logger.info({}, 'role push idle: Web Push is off (no VAPID keys)');
    }
    if (roles.includes('scheduler')) {
      this.scheduler = new Scheduler(stages.recovery, stages.housekeeping, logger.child({ component: 'worker.scheduler' }), {
        pollMs: this.options.schedulerPollMs,
        unroutedAfterMs: this.options.unroutedAfterMs,
        isRecoveringAtStart: !log.isDurable,
      });
      await this.scheduler.start();
    }
    if (roles.includes('webhooks')) {
      this.webhooks = new WebhookWorker(stages.webhooks, log, logger);
      await this.webhooks.start();
    }
    if (roles.includes('relay')) {
      this.isRelayStarted = true;
      await this.relay.start();
    }
  }

  /** Asks the relay to drain the outbox now (called after each accepted message in this process). */
  wakeRelay(): void {
    if (this.isRelayStarted) this.relay.wake();
  }

  /** Stops timers and consumers; the batch in flight finishes and is committed first. */
  async stop(): Promise<void> {
    this.scheduler?.stop();
    await this.relay.stop();
    await Promise.all([...this.subscriptions.map((s) => s.stop()), this.webhooks?.stop()]);
    this.subscriptions = [];
  }
}
