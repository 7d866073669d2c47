import type { Fanout } from '../ports/fanout.ts';
import { conversationTopic, userTopic, type ClientEvent, type EventMap, type EventType } from '../domain/events.ts';
import type { Logger } from './logger.ts';
import { currentTraceparent } from '../tracing.ts';

const WARNING_INTERVAL_MS = 10_000;

/**
 * Publishes client events. Fan-out is best effort: failures are logged, clients recover with `sync`.
 * Each call resolves once the event is handed to the fan-out (it never rejects); callers that need
 * events of different processes in order await it while they hold the conversation's lock.
 */
export class Notifier {
  /** While the fan-out is down every event fails: one warning per interval, with the count, not one each. */
  private failedSinceWarning = 0;
  private lastWarningAt = 0;

  constructor(
    private readonly fanout: Fanout,
    private readonly log: Logger,
  ) {}

  toConversation<K extends EventType>(conversationId: number, type: K, event: EventMap[K]): Promise<void> {
    return this.emit(conversationTopic(conversationId), { type, ...event } as ClientEvent<K>);
  }

  async toUsers<K extends EventType>(userIds: readonly number[], type: K, event: EventMap[K]): Promise<void> {
    await Promise.all(userIds.map((id) => this.emit(userTopic(id), { type, ...event } as ClientEvent<K>)));
  }

  private emit(topic: string, event: object): Promise<void> {
    // Inside a span the event carries its `traceparent`: the gateway continues the trace for the
    // WebSocket push and strips the field before clients see the frame.
    const traceparent = currentTraceparent();
    return this.fanout.publish(topic, traceparent ? { ...event, traceparent } : event).catch((e: unknown) => this.warnFailed(e, topic));
  }

  private warnFailed(e: unknown, topic: string): void {
    this.failedSinceWarning++;
    const now = Date.now();
    if (now - this.lastWarningAt < WARNING_INTERVAL_MS) return;
    this.log.warn({ err: e, topic, failed_events: this.failedSinceWarning }, 'fan-out publish failed; clients catch up with sync');
    this.lastWarningAt = now;
    this.failedSinceWarning = 0;
  }
}
