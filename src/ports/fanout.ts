/**
 * Real-time fan-out of events to the API instances that hold WebSocket connections
 * (in-memory when embedded, Redis pub/sub when distributed). Best effort: a lost event is
 * recovered by clients through `sync` and history.
 */
export interface Fanout {
  /**
   * Publishes `event` to every current subscriber of `topic` on any instance. An event may carry
   * a `traceparent` (W3C trace context) that subscribers remove before passing it on.
   */
  publish(topic: string, event: object): Promise<void>;
  /** Subscribes this instance; `handler` is called for each event on `topic`. Re-subscribing is a no-op. */
  subscribe(topic: string, handler: (event: Record<string, unknown>) => void): Promise<void>;
  /** Removes this instance's subscription to `topic`. */
  unsubscribe(topic: string): Promise<void>;
  /** Readiness check. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
