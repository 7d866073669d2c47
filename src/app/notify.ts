import type { Fanout } from '../ports/fanout.ts';
import { conversationTopic, userTopic, type ClientEvent, type EventMap, type EventType } from '../domain/events.ts';
import type { Logger } from './logger.ts';
import { currentTraceparent } from '../tracing.ts';

/** Publishes client events. Fan-out is best effort: failures are logged, clients recover with `sync`. */
export class Notifier {
  constructor(
    private readonly fanout: Fanout,
    private readonly log: Logger,
  ) {}

  toConversation<K extends EventType>(conversationId: number, type: K, event: EventMap[K]): void {
    this.emit(conversationTopic(conversationId), { type, ...event } as ClientEvent<K>);
  }

  toUsers<K extends EventType>(userIds: readonly number[], type: K, event: EventMap[K]): void {
    for (const id of userIds) this.emit(userTopic(id), { type, ...event } as ClientEvent<K>);
  }

  private emit(topic: string, event: object): void {
    // Inside a span the event carries its `traceparent`: the gateway continues the trace for the
    // WebSocket push and strips the field before clients see the frame.
    const traceparent = currentTraceparent();
    this.fanout.publish(topic, traceparent ? { ...event, traceparent } : event).catch((e: unknown) => this.log.warn({ err: e, topic }, 'fan-out publish failed'));
  }
}
