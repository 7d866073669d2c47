import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Fanout } from '../ports/fanout.ts';
import type { Logger } from './logger.ts';
import { Notifier } from './notify.ts';

/** A fan-out whose every publish fails, as while Redis is away. */
const downFanout: Fanout = {
  publish: () => Promise.reject(new Error('Redis fan-out unavailable')),
  subscribe: async () => undefined,
  unsubscribe: async () => undefined,
  ping: async () => undefined,
  close: async () => undefined,
};

function recordingLogger(): Logger & { warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const log = { warnings, debug() {}, info() {}, error() {}, warn: (obj: object) => warnings.push(obj as Record<string, unknown>), child: () => log };
  return log;
}

describe('Notifier while the fan-out is down', () => {
  afterEach(() => vi.useRealTimers());

  it('resolves every publish, and warns once per 10 s with the number of events that failed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const log = recordingLogger();
    const notifier = new Notifier(downFanout, log);
    const event = { message_id: 'm', conversation_id: 1, seq: 1, status: 'sent' as const, at: '2026-11-26T00:00:00.000Z' };
    for (let i = 0; i < 50; i++) await notifier.toUsers([7], 'message.status', event);
    expect(log.warnings.map((w) => w.failed_events)).toEqual([1]);
    vi.advanceTimersByTime(10_000);
    await notifier.toUsers([7], 'message.status', event);
    expect(log.warnings.map((w) => w.failed_events)).toEqual([1, 50]);
  });
});
