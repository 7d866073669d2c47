/**
 * The EventLog contract: every adapter (in-process and Kafka) must pass it. Each test uses its
 * own topics and groups, so one log instance serves the whole suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { EventLog as AnyEventLog, LogRecord as AnyLogRecord, Subscription } from '../../src/ports/event-log.ts';
import { eventually } from '../support/harness.ts';

// The contract is about the transport: any topic, any JSON value.
type TestTopics = Record<string, unknown>;
type EventLog = AnyEventLog<TestTopics>;
type LogRecord = AnyLogRecord<TestTopics>;

export interface EventLogUnderTest {
  log: EventLog;
  /** A second, independent client of the same log (a second process), for group tests; absent for in-process logs. */
  peer?: EventLog;
  close(): Promise<void>;
}

const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
type Value = { n: number };

export function describeEventLog(name: string, make: () => Promise<EventLogUnderTest>, timeoutMs = 20_000): void {
  describe(`EventLog contract: ${name}`, () => {
    let sut: EventLogUnderTest;
    const subscriptions: Subscription[] = [];
    const subscribe = async (log: EventLog, group: string, topics: string[], handler: (records: LogRecord[]) => Promise<void>) => {
      const s = await log.subscribe(group, topics, handler);
      subscriptions.push(s);
      return s;
    };
    beforeAll(async () => {
      sut = await make();
    });
    afterAll(async () => {
      await Promise.all(subscriptions.map((s) => s.stop()));
      await sut?.close();
    });

    it('delivers the records of each key in the order they were published', async () => {
      const topic = unique('order');
      const seen: LogRecord[] = [];
      await subscribe(sut.log, unique('g'), [topic], async (records) => void seen.push(...records));
      for (let batch = 0; batch < 10; batch++) {
        await sut.log.publish(Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i % 7}`, value: { n: batch * 30 + i } })));
      }
      await eventually(() => seen.length >= 300, timeoutMs);
      for (let k = 0; k < 7; k++) {
        const ns = seen.filter((r) => r.key === `k${k}`).map((r) => (r.value as Value).n);
        expect(ns, `key k${k}`).toEqual([...ns].sort((a, b) => a - b));
        expect(new Set(ns).size).toBe(ns.length);
      }
      expect(seen.every((r) => r.topic === topic)).toBe(true);
    });

    it("accepts publishes from many concurrent callers, and keeps each caller's order per key", async () => {
      const topic = unique('concurrent');
      const seen: LogRecord[] = [];
      await subscribe(sut.log, unique('g'), [topic], async (records) => void seen.push(...records));
      // 40 callers at once, each publishing its own key three times in a row.
      await Promise.all(
        Array.from({ length: 40 }, async (_, caller) => {
          for (let round = 0; round < 3; round++)
            await sut.log.publish(Array.from({ length: 5 }, (_, i) => ({ topic, key: `c${caller}`, value: { n: round * 5 + i } })));
        }),
      );
      await eventually(() => seen.length >= 600, timeoutMs);
      for (let caller = 0; caller < 40; caller++) {
        expect(seen.filter((r) => r.key === `c${caller}`).map((r) => (r.value as Value).n)).toEqual(Array.from({ length: 15 }, (_, n) => n));
      }
    });

    it('passes headers through unchanged', async () => {
      const topic = unique('headers');
      const seen: LogRecord[] = [];
      await subscribe(sut.log, unique('g'), [topic], async (records) => void seen.push(...records));
      await sut.log.publish([{ topic, key: 'a', value: { n: 1 }, headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } }]);
      const [record] = await eventually(() => seen.length > 0 && seen, timeoutMs);
      expect(record).toMatchObject({ topic, key: 'a', value: { n: 1 }, headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    });

    it('gives a throwing handler the same records again, and nothing after them first', async () => {
      const topic = unique('retry');
      const calls: number[][] = [];
      const handled: number[] = [];
      let failures = 0;
      await subscribe(sut.log, unique('g'), [topic], async (records) => {
        const ns = records.map((r) => (r.value as Value).n);
        calls.push(ns);
        if (ns.includes(3) && failures < 2) {
          failures++;
          throw new Error('simulated failure');
        }
        handled.push(...ns);
      });
      await sut.log.publish(Array.from({ length: 6 }, (_, n) => ({ topic, key: 'one-key', value: { n } })));
      await eventually(() => handled.includes(5), timeoutMs);
      const attemptsWith3 = calls.filter((c) => c.includes(3));
      expect(attemptsWith3.length).toBe(3);
      // The retried batch is handed out whole again before anything published after it.
      const firstFailing = calls.findIndex((c) => c.includes(3));
      expect(calls[firstFailing + 1]).toEqual(calls[firstFailing]);
      expect(handled).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('does not commit a batch whose handler never succeeded, and resumes after the last committed one', async (ctx) => {
      if (!sut.log.isDurable) return ctx.skip();
      const topic = unique('commit');
      const group = unique('g');
      const first: number[] = [];
      const s1 = await sut.log.subscribe(group, [topic], async (records) => {
        const ns = records.map((r) => (r.value as Value).n);
        if (ns.some((n) => n >= 5)) throw new Error('not now');
        first.push(...ns);
      });
      await sut.log.publish(Array.from({ length: 5 }, (_, n) => ({ topic, key: 'k', value: { n } })));
      await eventually(() => first.length === 5, timeoutMs);
      await sut.log.publish(Array.from({ length: 3 }, (_, i) => ({ topic, key: 'k', value: { n: 5 + i } })));
      await new Promise((r) => setTimeout(r, 500));
      await s1.stop();
      expect(first).toEqual([0, 1, 2, 3, 4]);

      const second: number[] = [];
      await subscribe(sut.log, group, [topic], async (records) => void second.push(...records.map((r) => (r.value as Value).n)));
      await eventually(() => second.length >= 3, timeoutMs);
      await new Promise((r) => setTimeout(r, 300));
      expect(second).toEqual([5, 6, 7]);
    });

    it('commits every partition a batch spans: a new member of the group gets none of those records again', async (ctx) => {
      if (!sut.log.isDurable) return ctx.skip();
      const topic = unique('spread');
      const group = unique('g');
      // 40 keys land on every partition of the topic.
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
      const first: string[] = [];
      const s1 = await sut.log.subscribe(group, [topic], async (records) => void first.push(...records.map((r) => r.key)));
      await sut.log.publish(keys.map((key) => ({ topic, key, value: { n: 0 } })));
      await eventually(() => first.length === keys.length, timeoutMs);
      await s1.stop();

      const second: string[] = [];
      await subscribe(sut.log, group, [topic], async (records) => void second.push(...records.map((r) => r.key)));
      await sut.log.publish(keys.map((key) => ({ topic, key, value: { n: 1 } })));
      await eventually(() => second.length >= keys.length, timeoutMs);
      await new Promise((r) => setTimeout(r, 300));
      expect(second.sort()).toEqual([...keys].sort());
    });

    it('splits the partitions of a topic between two members of one group', async (ctx) => {
      if (!sut.peer) return ctx.skip();
      const topic = unique('split');
      const group = unique('g');
      const byMember: [Set<string>, Set<string>] = [new Set(), new Set()];
      const seen: string[] = [];
      const handler = (member: 0 | 1) => async (records: LogRecord[]) => {
        for (const r of records) {
          byMember[member].add(r.key);
          seen.push(`${r.key}/${(r.value as Value).n}`);
        }
      };
      await subscribe(sut.log, group, [topic], handler(0));
      await subscribe(sut.peer, group, [topic], handler(1));
      // Both members are in the group once records published now reach both of them.
      await eventually(
        async () => {
          byMember[0].clear();
          byMember[1].clear();
          await sut.log.publish(Array.from({ length: 40 }, (_, i) => ({ topic, key: `probe${i}`, value: { n: -1 } })));
          await new Promise((r) => setTimeout(r, 500));
          return byMember[0].size > 0 && byMember[1].size > 0;
        },
        timeoutMs * 2,
        0,
      );
      byMember[0].clear();
      byMember[1].clear();
      seen.length = 0;
      await sut.log.publish(Array.from({ length: 200 }, (_, i) => ({ topic, key: `key${i % 40}`, value: { n: i } })));
      await eventually(() => new Set(seen.filter((s) => s.startsWith('key'))).size === 200, timeoutMs);
      expect(byMember[0].size).toBeGreaterThan(0);
      expect(byMember[1].size).toBeGreaterThan(0);
      // A key lives in one partition, and a partition belongs to one member.
      const shared = [...byMember[0]].filter((k) => byMember[1].has(k));
      expect(shared).toEqual([]);
    });
  });
}
