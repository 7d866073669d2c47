import type { Redis } from 'ioredis';
import type { RateDecision, RateLimiter } from '../../ports/rate-limiter.ts';
import type { Logger } from '../../app/logger.ts';
import { closeRedis, connectRedis, withTimeout, type RedisSettings } from '../redis-client.ts';

// INCR and the window's expiry in one atomic step. The PTTL check repairs a counter that lost
// its expiry (it would otherwise never reset).
const HIT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

// Decrements only a live counter above 0: a key that expired must not come back without an expiry.
const RELEASE = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

/** How long a request waits for Redis before the limiter lets it through. */
const ANSWER_TIMEOUT_MS = 250;

type LimiterClient = Redis & {
  rateLimitHit(key: string, windowMs: number): Promise<[number, number]>;
  rateLimitRelease(key: string): Promise<number>;
};

/**
 * Fixed-window counters in Redis, shared by every API instance. When Redis does not answer in
 * time the request is allowed (fail open): an outage of the limiter must not become an outage of
 * the API; a warning is logged once per outage.
 */
export class RedisRateLimiter implements RateLimiter {
  private isFailingOpen = false;

  private constructor(
    private readonly client: LimiterClient,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  static async open(settings: RedisSettings, log: Logger): Promise<RedisRateLimiter> {
    const client = await connectRedis(settings, 'ratelimit', log);
    client.defineCommand('rateLimitHit', { numberOfKeys: 1, lua: HIT });
    client.defineCommand('rateLimitRelease', { numberOfKeys: 1, lua: RELEASE });
    return new RedisRateLimiter(client as LimiterClient, `${settings.keyPrefix}rate:`, log);
  }

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    try {
      const [count, ttlMs] = await withTimeout(this.client.rateLimitHit(this.prefix + key, windowSeconds * 1000), ANSWER_TIMEOUT_MS);
      this.isFailingOpen = false;
      return { isAllowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
    } catch (e) {
      if (!this.isFailingOpen) this.log.warn({ err: e }, 'rate limiter unavailable: allowing requests until Redis answers');
      this.isFailingOpen = true;
      return { isAllowed: true, limit, remaining: limit, resetSeconds: windowSeconds };
    }
  }

  async release(key: string): Promise<void> {
    // Best effort, like hit: a lost release leaves one extra count until the window ends.
    await withTimeout(this.client.rateLimitRelease(this.prefix + key), ANSWER_TIMEOUT_MS).catch(() => undefined);
  }

  async close(): Promise<void> {
    await closeRedis(this.client);
  }
}
