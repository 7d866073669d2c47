/** Fanout, RateLimiter and SocketRegistry contracts on the in-memory adapters and on Redis. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { MemoryFanout } from '../../src/adapters/fanout/memory.ts';
import { RedisFanout } from '../../src/adapters/fanout/redis.ts';
import { MemoryRateLimiter } from '../../src/adapters/ratelimit/memory.ts';
import { RedisRateLimiter } from '../../src/adapters/ratelimit/redis.ts';
import { MemorySocketRegistry } from '../../src/adapters/presence/memory.ts';
import { RedisSocketRegistry } from '../../src/adapters/presence/redis.ts';
import { describeFanout } from './fanout.contract.ts';
import { describeRateLimiter } from './rate-limiter.contract.ts';
import { describeSocketRegistry } from './socket-registry.contract.ts';
import { hasServices, redisUrl } from '../support/services.ts';

describeFanout('memory', async () => {
  const fanout = new MemoryFanout();
  return { fanout, close: () => fanout.close() };
});
describeRateLimiter('memory', async () => {
  const limiter = new MemoryRateLimiter();
  return { limiter, close: () => limiter.close() };
});
describeSocketRegistry('memory', async () => {
  const registry = new MemorySocketRegistry();
  return { registry, close: () => registry.close() };
});

if (hasServices('Redis contracts', 'redis') && redisUrl) {
  const url = redisUrl;
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  // A namespace of its own, so concurrent runs on one Redis never see each other's keys.
  const settings = () => ({ url, keyPrefix: `contract-${randomUUID().slice(0, 8)}:` });

  describeFanout('redis', async () => {
    const s = settings();
    const fanout = await RedisFanout.open(s, logger);
    const peer = await RedisFanout.open(s, logger);
    return {
      fanout,
      peer,
      // Kills only this suite's subscriber connections (named after the key prefix).
      dropConnections: async () => {
        const admin = new Redis(url);
        const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
        const ids = list
          .split('\n')
          .filter((l) => l.includes(` name=${s.keyPrefix}fanout-sub `))
          .map((l) => /\bid=(\d+)/.exec(l)?.[1]);
        for (const id of ids) if (id) await admin.call('CLIENT', 'KILL', 'ID', id);
        admin.disconnect();
        return ids.length;
      },
      close: async () => void (await Promise.all([fanout.close(), peer.close()])),
    };
  });
  describeRateLimiter('redis', async () => {
    const s = settings();
    const limiter = await RedisRateLimiter.open(s, logger);
    const peer = await RedisRateLimiter.open(s, logger);
    return { limiter, peer, close: async () => void (await Promise.all([limiter.close(), peer.close()])) };
  });
  describeSocketRegistry('redis', async () => {
    const s = settings();
    const registry = await RedisSocketRegistry.open(s, logger);
    return { registry, openPeer: (ttlMs) => RedisSocketRegistry.open(s, logger, ttlMs), close: () => registry.close() };
  });
}
