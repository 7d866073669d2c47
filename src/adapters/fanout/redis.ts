import type { Redis } from 'ioredis';
import type { Fanout } from '../../ports/fanout.ts';
import type { Logger } from '../../app/logger.ts';
import { closeRedis, connectRedis, withTimeout, type RedisSettings } from '../redis-client.ts';

type Handler = (event: Record<string, unknown>) => void;

/** A publish Redis has not answered by then is given up (it may still arrive). */
const PUBLISH_TIMEOUT_MS = 1000;

interface Queued {
  channel: string;
  message: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Fan-out across API instances over Redis pub/sub: one connection publishes (so one instance's
 * events keep their order), one connection holds every subscription of this instance. After a
 * reconnect ioredis subscribes the same channels again; events published while the connection
 * was down are lost, which clients repair with `sync`.
 */
export class RedisFanout implements Fanout {
  private readonly handlers = new Map<string, Handler>();
  private queued: Queued[] = [];

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
  }

  static async open(settings: RedisSettings, log: Logger): Promise<RedisFanout> {
    const publisher = await connectRedis(settings, 'fanout-pub', log);
    try {
      // autoResubscribe (the default) restores every channel after a reconnect; a SUBSCRIBE in flight is sent again.
      const subscriber = await connectRedis(settings, 'fanout-sub', log, { isResending: true });
      return new RedisFanout(publisher, subscriber, `${settings.keyPrefix}fanout:`, log);
    } catch (e) {
      publisher.disconnect();
      throw e;
    }
  }

  /**
   * Events published during one turn of the event loop leave in one pipeline (one write instead of
   * one per event: an accepted message and each status change publish one), in publish order.
   */
  publish(topic: string, event: object): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ channel: this.prefix + topic, message: JSON.stringify(event), resolve, reject });
      if (this.queued.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queued;
    this.queued = [];
    // Best effort and never a long wait (settlement publishes while it holds a conversation's
    // lock): while Redis is away events are dropped at once, not parked in the offline queue;
    // clients recover them with sync.
    if (this.publisher.status !== 'ready') {
      const down = new Error(`Redis fan-out unavailable (connection ${this.publisher.status})`);
      for (const q of batch) q.reject(down);
      return;
    }
    const pipeline = this.publisher.pipeline();
    for (const q of batch) pipeline.publish(q.channel, q.message);
    withTimeout(pipeline.exec(), PUBLISH_TIMEOUT_MS).then(
      (results) => batch.forEach((q, i) => (results?.[i]?.[0] ? q.reject(results[i][0]) : q.resolve())),
      (e: unknown) => batch.forEach((q) => q.reject(e)),
    );
  }

  async subscribe(topic: string, handler: Handler): Promise<void> {
    if (this.handlers.has(topic)) return;
    this.handlers.set(topic, handler);
    try {
      await this.subscriber.subscribe(this.prefix + topic);
    } catch (e) {
      this.handlers.delete(topic);
      throw e;
    }
  }

  async unsubscribe(topic: string): Promise<void> {
    if (!this.handlers.delete(topic)) return;
    await this.subscriber.unsubscribe(this.prefix + topic);
  }

  async ping(): Promise<void> {
    await this.publisher.ping();
  }

  async close(): Promise<void> {
    if (this.queued.length > 0) this.flush();
    this.handlers.clear();
    await Promise.all([closeRedis(this.publisher), closeRedis(this.subscriber)]);
  }

  private deliver(channel: string, message: string): void {
    const handler = this.handlers.get(channel.slice(this.prefix.length));
    if (!handler) return;
    try {
      handler(JSON.parse(message) as Record<string, unknown>);
    } catch (e) {
      this.log.error({ err: e, channel }, 'fan-out event could not be handled');
    }
  }
}
