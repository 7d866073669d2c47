/** Failed sign-ins per account, counted across every address and every API instance. */
import type { RateLimiter } from '../ports/rate-limiter.ts';
import { isDomainError, rateLimited } from '../domain/errors.ts';
import { usernameKey } from '../domain/user.ts';

export interface LoginThrottleSettings {
  /** Failures allowed per account and window; 0 turns the throttle off. */
  maxFailures: number;
  windowSeconds: number;
}

/**
 * Each attempt counts as a failure before the password is checked and is taken back when it
 * succeeds, so concurrent guesses cannot all slip past the check. Once an account (by its
 * normalised name, whether it exists or not) has `maxFailures` in the window, every attempt is
 * refused with 429 until the window ends, the right password included: the answer says nothing
 * about the account, and costs no password hash.
 */
export class LoginThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly settings: LoginThrottleSettings,
  ) {}

  async attempt<T>(username: string, signIn: () => Promise<T>): Promise<T> {
    if (this.settings.maxFailures === 0) return signIn();
    const key = `login-failures:${usernameKey(username)}`;
    const d = await this.limiter.hit(key, this.settings.maxFailures, this.settings.windowSeconds);
    if (!d.isAllowed) {
      throw rateLimited('too-many-login-failures', `Too many failed sign-ins for this account; retry in ${d.resetSeconds} s`, { retry_after: d.resetSeconds });
    }
    try {
      const result = await signIn();
      await this.limiter.release(key);
      return result;
    } catch (e) {
      // Only wrong credentials count; an outage is not the user's failure.
      if (!(isDomainError(e) && e.code === 'invalid-credentials')) await this.limiter.release(key);
      throw e;
    }
  }
}
