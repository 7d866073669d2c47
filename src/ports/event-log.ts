/** One record of the event log. `key` decides the partition: order holds per key. */
export interface LogRecord {
  topic: string;
  key: string;
  value: unknown;
  headers?: Record<string, string>;
}

export type BatchHandler = (records: LogRecord[]) => Promise<void>;

export interface Subscription {
  /** Stops consuming after the batch in flight; its offsets are committed first. */
  stop(): Promise<void>;
}

/**
 * Durable, partitioned, ordered-per-key event log (Kafka in production, in-process when embedded).
 * Delivery is at-least-once: handlers must be idempotent.
 */
export interface EventLog {
  /** Appends records; resolves once the log has accepted all of them (Kafka: acks=all). */
  publish(records: LogRecord[]): Promise<void>;
  /**
   * Consumes `topics` as consumer group `group`. Batches of one partition arrive in order; a
   * batch's offsets are committed only after `handler` resolves. A throwing handler gets the
   * same batch again after a pause.
   */
  subscribe(group: string, topics: string[], handler: BatchHandler): Promise<Subscription>;
  /** True when accepted records survive a process crash (Kafka); false for the in-process log. */
  readonly isDurable: boolean;
  /** Readiness check; throws when the log is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The log could not be reached or refused a request; the vendor's error is the `cause`. */
export class EventLogError extends Error {}
