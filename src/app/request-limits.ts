import type { RateDecision, RateLimiter } from '../ports/rate-limiter.ts';

/**
 * Per-caller request limits: fixed one-minute windows per request class and caller, shared by all
 * API instances through the RateLimiter port. The HTTP edge decides who the caller is, which
 * class a route belongs to and its limit.
 */
/** The caller key of an authenticated user: HTTP requests and WebSocket sends count in the same window. */
export const userCaller = (userId: number) => `u${userId}`;

export class RequestLimits {
  constructor(private readonly limiter: RateLimiter) {}

  /** Counts one request of `requestClass` by `caller` against `perMinute`. */
  count(requestClass: string, caller: string, perMinute: number): Promise<RateDecision> {
    return this.limiter.hit(`${requestClass}:${caller}`, perMinute, 60);
  }
}
