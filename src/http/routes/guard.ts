import type { FastifyInstance } from 'fastify';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import { authenticate } from '../auth.ts';
import { rateLimit } from '../rate-limit.ts';

/** Hooks for a plugin whose routes need a Bearer token and are rate limited per user. */
export function protect(server: FastifyInstance, app: App, config: Config): void {
  server.addHook('preHandler', authenticate(app));
  server.addHook('preHandler', rateLimit(app.rateLimiter, config.rateLimit));
}

/** Rate limits for a plugin whose routes are public (limited per client address). */
export function limitPublic(server: FastifyInstance, app: App, config: Config): void {
  server.addHook('preHandler', rateLimit(app.rateLimiter, config.rateLimit));
}

export const bearer = [{ bearer: [] as string[] }];
