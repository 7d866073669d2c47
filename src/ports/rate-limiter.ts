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
  close(): Promise<void>;
}
