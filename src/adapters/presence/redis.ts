import type { ChainableCommander, Redis } from 'ioredis';
import type { SocketRegistry } from '../../ports/presence.ts';
import type { Logger } from '../../app/logger.ts';
import { closeRedis, connectRedis, withTimeout, type RedisSettings } from '../redis-client.ts';

// One sorted set per user: member = connection id, score = expiry (Redis' clock, so instances'
// clocks need not agree). Expired members are dropped before counting.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])`;
// Release and count drop expired members first too, so a crashed instance's sockets never count.
const RELEASE = `${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])`;
const COUNT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;
const REFRESH = `${NOW}
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

type Scripts = {
  socketAcquire(key: string, connectionId: string, max: number, ttlMs: number): Promise<number>;
  socketRefresh(key: string, ttlMs: number, ...connectionIds: string[]): Promise<number>;
  socketRelease(key: string, connectionId: string): Promise<number>;
  socketCount(key: string): Promise<number>;
};

const ANSWER_TIMEOUT_MS = 500;

/**
 * Per-user socket counts in Redis, shared by every API instance. Each instance refreshes the
 * expiry of the connections it holds every third of the TTL, so a crashed instance's sockets stop
 * counting after at most one TTL. When Redis does not answer, a connection is allowed (fail open)
 * and still refreshed later.
 */
export class RedisSocketRegistry implements SocketRegistry {
  private readonly held = new Map<number, Set<string>>();
  private readonly refresher: NodeJS.Timeout;

  private constructor(
    private readonly client: Redis & Scripts,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {
    this.refresher = setInterval(() => void this.refresh(), Math.max(100, Math.floor(ttlMs / 3))).unref();
  }

  static async open(settings: RedisSettings, log: Logger, ttlMs = 60_000): Promise<RedisSocketRegistry> {
    const client = await connectRedis(settings, 'sockets', log);
    client.defineCommand('socketAcquire', { numberOfKeys: 1, lua: ACQUIRE });
    client.defineCommand('socketRefresh', { numberOfKeys: 1, lua: REFRESH });
    client.defineCommand('socketRelease', { numberOfKeys: 1, lua: RELEASE });
    client.defineCommand('socketCount', { numberOfKeys: 1, lua: COUNT });
    return new RedisSocketRegistry(client as Redis & Scripts, `${settings.keyPrefix}sockets:`, ttlMs, log);
  }

  async acquire(userId: number, connectionId: string, max: number): Promise<number> {
    let count: number | undefined;
    try {
      count = Number(await withTimeout(this.client.socketAcquire(this.prefix + userId, connectionId, max, this.ttlMs), ANSWER_TIMEOUT_MS));
    } catch (e) {
      this.log.warn({ err: e, user_id: userId }, 'socket registry unavailable: connection allowed without a cross-instance check');
    }
    if (count === 0) return 0;
    const mine = (this.held.get(userId) ?? new Set<string>()).add(connectionId);
    this.held.set(userId, mine);
    // Without an answer, this instance's own count is the best guess presence has.
    return count ?? mine.size;
  }

  async release(userId: number, connectionId: string): Promise<number> {
    const mine = this.held.get(userId);
    if (mine?.delete(connectionId) && mine.size === 0) this.held.delete(userId);
    try {
      return Number(await withTimeout(this.client.socketRelease(this.prefix + userId, connectionId), ANSWER_TIMEOUT_MS));
    } catch (e) {
      // Not released now: it expires after the TTL because nobody refreshes it any more.
      this.log.debug({ err: e, user_id: userId }, 'socket release failed');
      return this.held.get(userId)?.size ?? 0;
    }
  }

  async count(userId: number): Promise<number> {
    try {
      return Number(await withTimeout(this.client.socketCount(this.prefix + userId), ANSWER_TIMEOUT_MS));
    } catch (e) {
      this.log.debug({ err: e, user_id: userId }, 'socket count failed; answering with this instance only');
      return this.held.get(userId)?.size ?? 0;
    }
  }

  async onlineAmong(userIds: readonly number[]): Promise<Set<number>> {
    if (userIds.length === 0) return new Set();
    const pipeline = this.client.pipeline() as ChainableCommander & { socketCount(key: string): ChainableCommander };
    for (const id of userIds) pipeline.socketCount(this.prefix + id);
    const answers = await withTimeout(pipeline.exec(), ANSWER_TIMEOUT_MS * 4);
    const online = new Set<number>();
    answers?.forEach(([error, count], i) => {
      if (error) throw error;
      if (Number(count) > 0) online.add(userIds[i]);
    });
    return online;
  }

  async close(): Promise<void> {
    clearInterval(this.refresher);
    this.held.clear();
    await closeRedis(this.client);
  }

  /** Extends every held connection (and re-adds them after Redis lost its data in a restart). */
  private async refresh(): Promise<void> {
    if (this.held.size === 0) return;
    const pipeline = this.client.pipeline() as ChainableCommander & { socketRefresh(key: string, ttlMs: number, ...ids: string[]): ChainableCommander };
    for (const [userId, ids] of this.held) pipeline.socketRefresh(this.prefix + userId, this.ttlMs, ...ids);
    try {
      await withTimeout(pipeline.exec(), 5000);
    } catch (e) {
      this.log.debug({ err: e }, 'socket registry refresh failed; retrying at the next interval');
    }
  }
}
