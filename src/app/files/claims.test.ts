import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keepClaim } from './claims.ts';

describe('keepClaim', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('renews only while bytes arrive, and reports a claim that was taken over', async () => {
    let bytes = 0;
    let isHeld = true;
    const renew = vi.fn(async () => isHeld);
    const onLost = vi.fn();
    const stop = keepClaim(() => bytes, renew, onLost);

    await vi.advanceTimersByTimeAsync(5_000);
    expect(renew).not.toHaveBeenCalled(); // no progress: the lease runs out on its own

    bytes = 1000;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(onLost).not.toHaveBeenCalled();

    bytes = 2000;
    isHeld = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(onLost).toHaveBeenCalledTimes(1);

    stop();
    bytes = 3000;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(renew).toHaveBeenCalledTimes(2);
  });
});
