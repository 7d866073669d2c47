import { describe, expect, it } from 'vitest';
import { FrameThrottle } from './ws-throttle.ts';

describe('FrameThrottle', () => {
  it('accepts a burst, answers the first refused frame, cuts off after a burst of refusals in a row', () => {
    const t = new FrameThrottle({ perSecond: 1, burst: 3 }, () => 0);
    expect([t.take(), t.take(), t.take()]).toEqual(['accept', 'accept', 'accept']);
    expect([t.take(), t.take(), t.take(), t.take()]).toEqual(['refuse-first', 'refuse', 'refuse', 'cut-off']);
  });

  it('refills at perSecond, never above the burst, and a refill forgives earlier refusals', () => {
    let now = 0;
    const t = new FrameThrottle({ perSecond: 2, burst: 2 }, () => now);
    t.take();
    t.take();
    expect(t.take()).toBe('refuse-first');
    expect(t.retryAfterSeconds).toBe(1);
    now = 500;
    expect(t.take()).toBe('accept');
    expect(t.take()).toBe('refuse-first');
    now = 60_000;
    expect([t.take(), t.take(), t.take()]).toEqual(['accept', 'accept', 'refuse-first']);
  });
});
