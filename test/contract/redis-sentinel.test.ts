/**
 * Fan-out, rate limits and the socket registry through a Redis Sentinel (services.sh runs one
 * watching the local Redis): the settings carry no Redis address at all, only the Sentinel's, so
 * every connection below found its master by asking the Sentinel.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RedisFanout } from '../../src/adapters/fanout/redis.ts';
import { RedisRateLimiter } from '../../src/adapters/ratelimit/redis.ts';
import { RedisSocketRegistry } from '../../src/adapters/presence/redis.ts';
import { closeRedis, redisClient, type RedisSettings } from '../../src/adapters/redis-client.ts';
import { describeFanout } from './fanout.contract.ts';
import { describeRateLimiter } from './rate-limiter.contract.ts';
import { describeSocketRegistry } from './socket-registry.contract.ts';
import { hasServices, redisSentinels } from '../support/services.ts';

if (hasServices('Redis contracts through Sentinel', 'sentinel') && redisSentinels) {
  const { sentinels, master } = redisSentinels;
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const settings = (): RedisSettings => ({ sentinels, sentinelMaster: master, keyPrefix: `sentinel-${randomUUID().slice(0, 8)}:` });

  describeFanout('redis via sentinel', async () => {
    const s = settings();
    const fanout = await RedisFanout.open(s, logger);
    const peer = await RedisFanout.open(s, logger);
    return {
      fanout,
      peer,
      // Kills only this suite's subscriber connections; they must find the master through the Sentinel again.
      dropConnections: async () => {
        const admin = redisClient(s, { lazyConnect: true });
        await admin.connect();
        const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
        const ids = list
          .split('\n')
          .filter((l) => l.includes(` name=${s.keyPrefix}fanout-sub `))
          .map((l) => /\bid=(\d+)/.exec(l)?.[1]);
        for (const id of ids) if (id) await admin.call('CLIENT', 'KILL', 'ID', id);
        await closeRedis(admin);
        return ids.length;
      },
      close: async () => void (await Promise.all([fanout.close(), peer.close()])),
    };
  });
  describeRateLimiter('redis via sentinel', async () => {
    const s = settings();
    const limiter = await RedisRateLimiter.open(s, logger);
    const peer = await RedisRateLimiter.open(s, logger);
    return { limiter, peer, close: async () => void (await Promise.all([limiter.close(), peer.close()])) };
  });
  describeSocketRegistry('redis via sentinel', async () => {
    const s = settings();
    const registry = await RedisSocketRegistry.open(s, logger);
    return { registry, openPeer: (ttlMs) => RedisSocketRegistry.open(s, logger, ttlMs), close: () => registry.close() };
  });

  describe('Sentinel discovery', () => {
    it('asks the Sentinel for the master: the connection lands on the address the Sentinel names', async () => {
      const s = settings();
      const client = redisClient(s, { lazyConnect: true });
      try {
        await client.connect();
        const probe = redisClient({ url: `redis://${sentinels[0].host}:${sentinels[0].port}`, keyPrefix: '' }, { lazyConnect: true });
        await probe.connect();
        const [host, port] = (await probe.call('SENTINEL', 'get-master-addr-by-name', master)) as [string, string];
        await closeRedis(probe);
        const [, serverPort] = /tcp_port:(\d+)/.exec(await client.info('server')) ?? [];
        expect(serverPort).toBe(port);
        expect(host).toBeTruthy();
      } finally {
        await closeRedis(client);
      }
    });

    it('a master name the Sentinel does not know fails the start with the Sentinel’s reason', async () => {
      const s = { ...settings(), sentinelMaster: `no-such-master-${randomUUID().slice(0, 4)}` };
      await expect(RedisRateLimiter.open(s, logger)).rejects.toThrow(/No such master/);
    });
  });
}
