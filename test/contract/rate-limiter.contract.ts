/** The RateLimiter contract: the in-memory and the Redis adapter must both pass it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { RateLimiter } from '../../src/ports/rate-limiter.ts';

export interface RateLimiterUnderTest {
  limiter: RateLimiter;
  /** Another instance sharing the counters (another API process); absent for in-process limits. */
  peer?: RateLimiter;
  close(): Promise<void>;
}

const key = () => `k-${randomUUID().slice(0, 8)}`;

export function describeRateLimiter(name: string, make: () => Promise<RateLimiterUnderTest>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let sut: RateLimiterUnderTest;
    beforeAll(async () => {
      sut = await make();
    });
    afterAll(async () => sut?.close());

    it('allows `limit` hits per window and refuses the next, counting down remaining', async () => {
      const k = key();
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await sut.limiter.hit(k, 3, 60));
      expect(decisions.map((d) => [d.isAllowed, d.remaining, d.limit])).toEqual([
        [true, 2, 3],
        [true, 1, 3],
        [true, 0, 3],
        [false, 0, 3],
      ]);
      for (const d of decisions) {
        expect(d.resetSeconds).toBeGreaterThanOrEqual(59);
        expect(d.resetSeconds).toBeLessThanOrEqual(60);
      }
    });

    it('keeps separate counters per key', async () => {
      const [a, b] = [key(), key()];
      await sut.limiter.hit(a, 1, 60);
      expect((await sut.limiter.hit(a, 1, 60)).isAllowed).toBe(false);
      expect((await sut.limiter.hit(b, 1, 60)).isAllowed).toBe(true);
    });

    it('starts a fresh window once the old one ended', async () => {
      const k = key();
      expect((await sut.limiter.hit(k, 1, 1)).isAllowed).toBe(true);
      expect((await sut.limiter.hit(k, 1, 1)).isAllowed).toBe(false);
      await new Promise((r) => setTimeout(r, 1100));
      expect(await sut.limiter.hit(k, 1, 1)).toMatchObject({ isAllowed: true, remaining: 0 });
    });

    it('counts concurrent hits exactly once each', async () => {
      const k = key();
      const decisions = await Promise.all(Array.from({ length: 50 }, () => sut.limiter.hit(k, 20, 60)));
      expect(decisions.filter((d) => d.isAllowed).length).toBe(20);
    });

    it('takes back a released hit in the current window, never below zero', async () => {
      const k = key();
      await sut.limiter.hit(k, 2, 60);
      await sut.limiter.hit(k, 2, 60);
      await sut.limiter.release(k);
      expect(await sut.limiter.hit(k, 2, 60)).toMatchObject({ isAllowed: true, remaining: 0 });
      expect((await sut.limiter.hit(k, 2, 60)).isAllowed).toBe(false);
      const fresh = key();
      await sut.limiter.release(fresh);
      await sut.limiter.release(fresh);
      expect(await sut.limiter.hit(fresh, 1, 60)).toMatchObject({ isAllowed: true, remaining: 0 });
      expect((await sut.limiter.hit(fresh, 1, 60)).resetSeconds).toBeGreaterThanOrEqual(59);
    });

    it('shares one limit between instances', async (ctx) => {
      if (!sut.peer) return ctx.skip();
      const k = key();
      await sut.limiter.hit(k, 2, 60);
      await sut.peer.hit(k, 2, 60);
      expect((await sut.limiter.hit(k, 2, 60)).isAllowed).toBe(false);
      expect((await sut.peer.hit(k, 2, 60)).isAllowed).toBe(false);
    });
  });
}
