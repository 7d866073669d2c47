import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../ports/connector.ts';
import { Throttle, type ThrottleClock } from './throttle.ts';

/** A clock that only moves when told to; `sleep` records how long each caller was asked to wait. */
function manualClock(): ThrottleClock & { advance(ms: number): void; waits: number[] } {
  let t = 1_000_000;
  const waits: number[] = [];
  return { now: () => t, sleep: async (ms) => void waits.push(Math.round(ms)), advance: (ms) => void (t += ms), waits };
}

describe('Throttle', () => {
  it('lets a burst through at once, then spaces sends at the configured rate, first come first served', async () => {
    const clock = manualClock();
    const throttle = new Throttle({ ratePerSecond: 10, burst: 2 }, clock);
    await Promise.all([throttle.take(), throttle.take(), throttle.take(), throttle.take()]);
    expect(clock.waits).toEqual([100, 200]);
  });

  it('refills over time, up to the burst and no further', async () => {
    const clock = manualClock();
    const throttle = new Throttle({ ratePerSecond: 10, burst: 3 }, clock);
    for (let i = 0; i < 3; i++) await throttle.take();
    clock.advance(60_000);
    for (let i = 0; i < 4; i++) await throttle.take();
    expect(clock.waits).toEqual([100]);
  });

  it('fails fast with a retryable rate-limited error when the queue is longer than maxWaitMs, without taking a slot', async () => {
    const clock = manualClock();
    const throttle = new Throttle({ ratePerSecond: 1, burst: 1, maxWaitMs: 1500 }, clock);
    await throttle.take();
    await throttle.take(); // waits 1 s
    const error = await throttle.take().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ errorClass: 'rate-limited', isPermanent: false, retryAfterMs: 2000 });
    clock.advance(1000);
    await throttle.take();
    expect(clock.waits).toEqual([1000, 1000]);
  });

  it('keeps accounts apart: a queue on one bucket does not delay another', async () => {
    const clock = manualClock();
    const busy = new Throttle({ ratePerSecond: 1, burst: 1 }, clock);
    const quiet = new Throttle({ ratePerSecond: 1, burst: 1 }, clock);
    await Promise.all([busy.take(), busy.take(), busy.take()]);
    const before = clock.waits.length;
    await quiet.take();
    expect(clock.waits.length).toBe(before);
  });

  it('holds every send for the pause the platform asked for', async () => {
    const clock = manualClock();
    const throttle = new Throttle({ ratePerSecond: 100, burst: 100 }, clock);
    throttle.pause(3000);
    await throttle.take();
    await throttle.take();
    expect(clock.waits).toEqual([3000, 3010]);
  });
});
