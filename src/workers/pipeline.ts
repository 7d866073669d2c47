/** Runs the delivery pipeline's roles in this process: relay, router, connectors, status, scheduler. */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import { CHANNELS } from '../domain/message.ts';
import { channelTopic, STATUS_TOPIC, type Delivery } from '../app/delivery.ts';
import { MESSAGES_TOPIC } from '../app/messages.ts';
import type { Logger } from '../app/logger.ts';
import type { Role } from '../config.ts';
import { metrics } from '../metrics.ts';
import { detached } from '../tracing.ts';

// Published outbox rows are kept an hour for inspection, then deleted.
const OUTBOX_RETENTION_MS = 3_600_000;

export interface PipelineOptions {
  relayPollMs: number;
  schedulerPollMs: number;
  /** Age after which an accepted but unrouted message is re-published (safety net). */
  unroutedAfterMs: number;
}

export class Pipeline {
  private subscriptions: Subscription[] = [];
  private timers: NodeJS.Timeout[] = [];
  private relayRun: Promise<void> | undefined;
  private isRelayAgain = false;
  private isStopping = false;

  constructor(
    private readonly delivery: Delivery,
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly options: PipelineOptions,
  ) {}

  async start(roles: readonly Role[]): Promise<void> {
    const consume = async (role: Role, topics: string[], handler: (records: Parameters<Delivery['route']>[0]) => Promise<void>) => {
      const log = this.logger.child({ component: `worker.${role}` });
      this.subscriptions.push(
        await this.log.subscribe(role, topics, async (records) => {
          try {
            // Each record's span continues the trace in its headers, not whatever context started the consumer.
            await detached(() => handler(records));
            for (const r of records) metrics.eventsConsumed.inc({ topic: r.topic, group: role });
          } catch (e) {
            log.error({ err: e, records: records.length }, 'batch failed, will retry');
            throw e;
          }
        }),
      );
    };
    if (roles.includes('router')) await consume('router', [MESSAGES_TOPIC], (r) => this.delivery.route(r));
    if (roles.includes('connectors')) await consume('connectors', CHANNELS.map(channelTopic), (r) => this.delivery.deliver(r));
    if (roles.includes('status')) await consume('status', [STATUS_TOPIC], (r) => this.delivery.applyStatuses(r));
    if (roles.includes('scheduler')) await this.startScheduler();
    if (roles.includes('relay')) {
      this.every(this.options.relayPollMs, () => this.wakeRelay());
      this.wakeRelay();
    }
  }

  /** Asks the relay to drain the outbox now (called after each accepted message in this process). */
  wakeRelay(): void {
    if (this.isStopping) return;
    if (this.relayRun) {
      this.isRelayAgain = true;
      return;
    }
    // Woken by a send inside its request's span: the relay's batches belong to no single trace.
    this.relayRun = detached(() => this.drainOutbox()).finally(() => {
      this.relayRun = undefined;
      if (this.isRelayAgain) {
        this.isRelayAgain = false;
        this.wakeRelay();
      }
    });
  }

  private async drainOutbox(): Promise<void> {
    try {
      while (!this.isStopping && (await this.delivery.relayOutbox(500)) > 0);
    } catch (e) {
      this.logger.child({ component: 'worker.relay' }).error({ err: e }, 'outbox relay failed');
    }
  }

  private async startScheduler(): Promise<void> {
    const log = this.logger.child({ component: 'worker.scheduler' });
    if (!this.log.isDurable) {
      // A single embedded process: whatever was in flight died with the previous process.
      const unrouted = await this.delivery.recoverUnrouted(0, 100_000);
      const pending = await this.delivery.dispatchDue(100_000, true);
      if (unrouted + pending > 0) log.warn({ unrouted, pending }, 'recovered in-flight work after restart');
    }
    const guard = (what: string, work: () => Promise<unknown>) => () =>
      work().catch((e: unknown) => log.error({ err: e }, `${what} failed`));
    this.every(this.options.schedulerPollMs, guard('dispatch', () => this.delivery.dispatchDue(1000)));
    this.every(Math.max(1000, this.options.unroutedAfterMs / 2), guard('recovery sweep', () => this.delivery.recoverUnrouted(this.options.unroutedAfterMs, 10_000)));
    this.every(5000, guard('backlog sample', () => this.delivery.sampleBacklog()));
    this.every(60_000, guard('outbox pruning', () => this.delivery.pruneOutbox(OUTBOX_RETENTION_MS, 10_000)));
  }

  private every(ms: number, fn: () => unknown): void {
    let isRunning = false;
    this.timers.push(
      setInterval(async () => {
        if (isRunning || this.isStopping) return;
        isRunning = true;
        try {
          await fn();
        } finally {
          isRunning = false;
        }
      }, ms),
    );
  }

  /** Stops timers and consumers; the batch in flight finishes and is committed first. */
  async stop(): Promise<void> {
    this.isStopping = true;
    this.timers.forEach(clearInterval);
    await this.relayRun;
    await Promise.all(this.subscriptions.map((s) => s.stop()));
    this.subscriptions = [];
  }
}
