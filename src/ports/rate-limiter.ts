export interface RateDecision {
  isAllowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/** Fixed-window counters shared by all API instances (memory when embedded, Redis when distributed). */
export interface RateLimiter {
  /** Counts one hit for `key` in a window of `windowSeconds`; says whether it is within `limit`. */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision>;
  /** Takes back one hit of `key` in its current window (an attempt that turned out fine); no-op once the window has ended or the count is 0. */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}
