/**
 * Per-socket flood control: a token bucket over client frames. A client that keeps sending once
 * its bucket is empty is cut off, as Mattermost and Rocket.Chat do for their socket APIs.
 */
export interface ThrottleSettings {
  /** Frames per second the bucket refills. */
  perSecond: number;
  /** Bucket size: frames a client may send at once; also how many refused frames end the socket. */
  burst: number;
}

export type Verdict = 'accept' | 'refuse-first' | 'refuse' | 'cut-off';

export class FrameThrottle {
  private tokens: number;
  private refused = 0;
  private last: number;

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = settings.burst;
    this.last = now();
  }

  /**
   * Takes a token for one frame. `refuse-first` marks the first refused frame of a flood (the one
   * to answer), `cut-off` the one after `burst` refusals in a row.
   */
  take(): Verdict {
    const now = this.now();
    this.tokens = Math.min(this.settings.burst, this.tokens + ((now - this.last) / 1000) * this.settings.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refused = 0;
      return 'accept';
    }
    this.refused += 1;
    if (this.refused > this.settings.burst) return 'cut-off';
    return this.refused === 1 ? 'refuse-first' : 'refuse';
  }

  /** Seconds until the next frame would be accepted. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.settings.perSecond));
  }
}
