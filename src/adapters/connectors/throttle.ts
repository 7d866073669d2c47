import { ConnectorError } from '../../ports/connector.ts';

export interface ThrottleSettings {
  /** Sustained sends per second of this channel account. */
  ratePerSecond: number;
  /** Sends allowed at once after a quiet spell (defaults to one second's worth). */
  burst?: number;
  /**
   * Longest a send waits for its turn (default 5 s). A longer queue fails fast with a retryable
   * `rate-limited` error instead, so that a claimed delivery never outlives its lease while waiting
   * here: keep maxWaitMs + the connector's timeout well under DELIVERY_LEASE_MS.
   */
  maxWaitMs?: number;
}

export interface ThrottleClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: ThrottleClock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/**
 * A token bucket for one channel account. Each send reserves the next token in order (the balance
 * may go negative, which is the queue), so waiters are served first come, first served. Every
 * account has a bucket of its own: a busy account waits for its own tokens and never delays another.
 */
export class Throttle {
  private readonly burst: number;
  private readonly maxWaitMs: number;
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly clock: ThrottleClock = realClock,
  ) {
    if (!(settings.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    this.burst = Math.max(1, settings.burst ?? Math.ceil(settings.ratePerSecond));
    this.maxWaitMs = settings.maxWaitMs ?? 5_000;
    this.tokens = this.burst;
    this.updatedAt = clock.now();
  }

  /** Waits until this send may go; rejects with a retryable `rate-limited` ConnectorError when the wait would exceed `maxWaitMs`. */
  async take(): Promise<void> {
    this.refill();
    const waitMs = this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.settings.ratePerSecond) * 1000;
    if (waitMs > this.maxWaitMs) {
      throw new ConnectorError(`send queue of this account is ${Math.ceil(waitMs)} ms long`, 'rate-limited', { retryAfterMs: Math.ceil(waitMs) });
    }
    this.tokens -= 1;
    if (waitMs > 0) await this.clock.sleep(waitMs);
  }

  /** The platform said to slow down: nothing more goes out for `ms` (later callers queue behind). */
  pause(ms: number): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 1 - (ms / 1000) * this.settings.ratePerSecond);
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.settings.ratePerSecond);
    this.updatedAt = now;
  }
}
