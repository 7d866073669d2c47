import type { LogTopics } from '../domain/log-topics.ts';

/**
 * One record of the event log. `key` decides the partition: order holds per key. `M` maps each
 * topic to the type of its values, so a record of the wrong type for its topic does not compile.
 */
export type LogRecord<M extends object = LogTopics, T extends keyof M & string = keyof M & string> = T extends unknown
  ? { topic: T; key: string; value: M[T]; headers?: Record<string, string> }
  : never;

export type BatchHandler<M extends object = LogTopics, T extends keyof M & string = keyof M & string> = (records: LogRecord<M, T>[]) => Promise<void>;

export interface Subscription {
  /** Stops consuming after the batch in flight; its offsets are committed first. */
  stop(): Promise<void>;
}

/**
 * Durable, partitioned, ordered-per-key event log (Kafka in production, in-process when embedded).
 * Delivery is at-least-once: handlers must be idempotent. `M` is the topic → record type map
 * (the pipeline's is `LogTopics`).
 */
export interface EventLog<M extends object = LogTopics> {
  /** Appends records; resolves once the log has accepted all of them (Kafka: acks=all). */
  publish(records: LogRecord<M>[]): Promise<void>;
  /**
   * Consumes `topics` as consumer group `group`. Batches of one partition arrive in order; a
   * batch's offsets are committed only after `handler` resolves. A throwing handler gets the
   * same batch again after a pause.
   */
  subscribe<T extends keyof M & string>(group: string, topics: readonly T[], handler: BatchHandler<M, T>): Promise<Subscription>;
  /** True when accepted records survive a process crash (Kafka); false for the in-process log. */
  readonly isDurable: boolean;
  /** Readiness check; throws when the log is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The log could not be reached or refused a request; the vendor's error is the `cause`. */
export class EventLogError extends Error {}
