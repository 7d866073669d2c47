import type { FastifyReply, FastifyRequest } from 'fastify';
import { userCaller, type RequestLimits } from '../app/request-limits.ts';
import type { RateClass } from '../config.ts';
import { rateLimited } from '../domain/errors.ts';
import { metrics } from '../metrics.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The rate-limit class of a route; routes without one are not limited. */
    rateClass?: RateClass;
  }
}

export interface RateLimitSettings {
  enabled: boolean;
  perMinute: Record<RateClass, number>;
}

/**
 * Fixed one-minute windows per caller (app for an API key, user id for a token, else client address) and
 * route class. Runs after authentication so that a user's limit follows the user across addresses.
 */
export function rateLimit(limits: RequestLimits, settings: RateLimitSettings) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const rateClass = request.routeOptions.config.rateClass;
    if (!settings.enabled || !rateClass) return;
    const p = request.principal;
    const who = p?.app ? `app${p.app.appId}` : p ? userCaller(p.userId) : `ip${request.ip}`;
    const d = await limits.count(rateClass, who, settings.perMinute[rateClass]);
    reply.header('RateLimit-Limit', d.limit).header('RateLimit-Remaining', d.remaining).header('RateLimit-Reset', d.resetSeconds);
    if (!d.isAllowed) {
      metrics.rateLimitHits.inc({ class: rateClass });
      throw rateLimited('rate-limited', `Too many requests of this kind; retry in ${d.resetSeconds} s`, { retry_after: d.resetSeconds });
    }
  };
}
