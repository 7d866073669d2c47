/** The SocketRegistry contract (per-user socket limits and presence counts): in-memory and Redis adapters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { SocketRegistry } from '../../src/ports/presence.ts';
import { eventually } from '../support/harness.ts';

export interface SocketRegistryUnderTest {
  registry: SocketRegistry;
  /**
   * Opens another instance sharing the counts (another API process) with this TTL; the test closes
   * it without releasing, which is what a crash looks like. Absent for in-process registries.
   */
  openPeer?: (ttlMs: number) => Promise<SocketRegistry>;
  close(): Promise<void>;
}

let nextUser = Math.floor(Math.random() * 1e9);
const conn = () => randomUUID();

export function describeSocketRegistry(name: string, make: () => Promise<SocketRegistryUnderTest>): void {
  describe(`SocketRegistry contract: ${name}`, () => {
    let sut: SocketRegistryUnderTest;
    beforeAll(async () => {
      sut = await make();
    });
    afterAll(async () => sut?.close());

    it('admits up to max connections per user and refuses the next', async () => {
      const user = nextUser++;
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await sut.registry.acquire(user, conn(), 2));
      expect(results).toEqual([1, 2, 0]);
      expect(await sut.registry.acquire(nextUser++, conn(), 2)).toBe(1);
    });

    it('frees a slot on release, and treats acquiring a held id again as held', async () => {
      const user = nextUser++;
      const [a, b] = [conn(), conn()];
      expect(await sut.registry.acquire(user, a, 1)).toBe(1);
      expect(await sut.registry.acquire(user, a, 1)).toBe(1);
      expect(await sut.registry.acquire(user, b, 1)).toBe(0);
      expect(await sut.registry.release(user, a)).toBe(0);
      expect(await sut.registry.release(user, 'never-acquired')).toBe(0);
      expect(await sut.registry.acquire(user, b, 1)).toBe(1);
    });

    it('counts live connections for presence: the first acquire is 1, the last release leaves 0', async () => {
      const user = nextUser++;
      const [a, b] = [conn(), conn()];
      expect(await sut.registry.count(user)).toBe(0);
      expect(await sut.registry.acquire(user, a, 5)).toBe(1);
      expect(await sut.registry.acquire(user, b, 5)).toBe(2);
      expect(await sut.registry.count(user)).toBe(2);
      expect(await sut.registry.release(user, a)).toBe(1);
      expect(await sut.registry.count(user)).toBe(1);
      expect(await sut.registry.release(user, b)).toBe(0);
      expect(await sut.registry.count(user)).toBe(0);
    });

    it('tells which users hold a live connection, until their last one is released', async () => {
      const [a, b, none] = [nextUser++, nextUser++, nextUser++];
      const [a1, a2, b1] = [conn(), conn(), conn()];
      await sut.registry.acquire(a, a1, 5);
      await sut.registry.acquire(a, a2, 5);
      await sut.registry.acquire(b, b1, 5);
      expect(await sut.registry.onlineAmong([a, b, none])).toEqual(new Set([a, b]));
      expect(await sut.registry.onlineAmong([])).toEqual(new Set());
      await sut.registry.release(a, a1);
      await sut.registry.release(b, b1);
      expect(await sut.registry.onlineAmong([a, b, none])).toEqual(new Set([a]));
      await sut.registry.release(a, a2);
      expect(await sut.registry.onlineAmong([a])).toEqual(new Set());
    });

    it("sees another instance's connections as online, and a crashed instance's as offline after the TTL", async (ctx) => {
      if (!sut.openPeer) return ctx.skip();
      const user = nextUser++;
      const peer = await sut.openPeer(600);
      expect(await peer.acquire(user, conn(), 2)).toBe(1);
      expect(await sut.registry.onlineAmong([user])).toEqual(new Set([user]));
      await peer.close(); // crash: nothing released, nothing refreshed
      await eventually(async () => (await sut.registry.onlineAmong([user])).size === 0, 5000, 100);
    });

    it('counts the connections of every instance, and forgets a crashed instance after its TTL', async (ctx) => {
      if (!sut.openPeer) return ctx.skip();
      const user = nextUser++;
      const peer = await sut.openPeer(600);
      expect(await peer.acquire(user, conn(), 2)).toBe(1);
      expect(await peer.acquire(user, conn(), 2)).toBe(2);
      expect(await sut.registry.count(user)).toBe(2);
      expect(await sut.registry.acquire(user, conn(), 2)).toBe(0);
      await peer.close(); // crash: nothing released, nothing refreshed
      await eventually(async () => (await sut.registry.count(user)) === 0, 5000, 100);
      expect(await sut.registry.acquire(user, conn(), 2)).toBe(1);
    });

    it("keeps a live instance's connections past the TTL by refreshing them", async (ctx) => {
      if (!sut.openPeer) return ctx.skip();
      const user = nextUser++;
      const peer = await sut.openPeer(600);
      try {
        expect(await peer.acquire(user, conn(), 1)).toBe(1);
        await new Promise((r) => setTimeout(r, 1500));
        expect(await sut.registry.acquire(user, conn(), 1)).toBe(0);
        expect(await sut.registry.count(user)).toBe(1);
      } finally {
        await peer.close();
      }
    });
  });
}
