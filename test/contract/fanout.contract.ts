/** The Fanout contract: the in-memory and the Redis adapter must both pass it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Fanout } from '../../src/ports/fanout.ts';
import { eventually } from '../support/harness.ts';

export interface FanoutUnderTest {
  fanout: Fanout;
  /** A second instance on the same backbone (another API process); absent for in-process fan-out. */
  peer?: Fanout;
  /** Drops the subscribers' connections so that they must reconnect (Redis only); returns how many. */
  dropConnections?: () => Promise<number>;
  close(): Promise<void>;
}

const topic = () => `t-${randomUUID().slice(0, 8)}`;

export function describeFanout(name: string, make: () => Promise<FanoutUnderTest>): void {
  describe(`Fanout contract: ${name}`, () => {
    let sut: FanoutUnderTest;
    beforeAll(async () => {
      sut = await make();
    });
    afterAll(async () => sut?.close());

    it('delivers events to the subscriber of a topic, in publish order, and not to other topics', async () => {
      const [a, b] = [topic(), topic()];
      const onA: unknown[] = [];
      const onB: unknown[] = [];
      await sut.fanout.subscribe(a, (e) => onA.push(e));
      await sut.fanout.subscribe(b, (e) => onB.push(e));
      for (let n = 0; n < 50; n++) await sut.fanout.publish(a, { type: 'x', n });
      await eventually(() => onA.length === 50);
      expect(onA).toEqual(Array.from({ length: 50 }, (_, n) => ({ type: 'x', n })));
      expect(onB).toEqual([]);
    });

    it('treats a second subscribe as a no-op and stops after unsubscribe', async () => {
      const t = topic();
      const first: unknown[] = [];
      const second: unknown[] = [];
      await sut.fanout.subscribe(t, (e) => first.push(e));
      await sut.fanout.subscribe(t, (e) => second.push(e));
      await sut.fanout.publish(t, { n: 1 });
      await eventually(() => first.length === 1);
      await sut.fanout.unsubscribe(t);
      await sut.fanout.publish(t, { n: 2 });
      // A marker on another topic shows that later events had their chance to arrive.
      const marker = topic();
      const marks: unknown[] = [];
      await sut.fanout.subscribe(marker, (e) => marks.push(e));
      await sut.fanout.publish(marker, { done: true });
      await eventually(() => marks.length === 1);
      expect(first).toEqual([{ n: 1 }]);
      expect(second).toEqual([]);
    });

    it('answers ping while healthy', async () => {
      await expect(sut.fanout.ping()).resolves.toBeUndefined();
    });

    it('carries events from one instance to another', async (ctx) => {
      if (!sut.peer) return ctx.skip();
      const t = topic();
      const got: unknown[] = [];
      await sut.peer.subscribe(t, (e) => got.push(e));
      await sut.fanout.publish(t, { from: 'a' });
      await eventually(() => got.length === 1);
      expect(got).toEqual([{ from: 'a' }]);
    });

    it('subscribes again after its connection was dropped', async (ctx) => {
      if (!sut.dropConnections || !sut.peer) return ctx.skip();
      const t = topic();
      const got: unknown[] = [];
      await sut.peer.subscribe(t, (e) => got.push(e));
      expect(await sut.dropConnections()).toBeGreaterThan(0);
      // Events published while reconnecting may be lost (clients repair with sync); later ones arrive.
      await eventually(
        async () => {
          await sut.fanout.publish(t, { n: got.length });
          await new Promise((r) => setTimeout(r, 50));
          return got.length > 0;
        },
        10_000,
        0,
      );
    });
  });
}
