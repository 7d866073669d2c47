import type { FastifyInstance } from 'fastify';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import { authenticate } from '../auth.ts';
import { rateLimit } from '../rate-limit.ts';
import { checkScope, requireScopeDeclarations } from '../scope.ts';

/**
 * Hooks for a plugin whose routes need a Bearer token (or API key), a scope, and are rate limited
 * per user or app. All run on request, before the body is read: a caller without credentials gets
 * 401 whatever it sent, and rejected or throttled requests cost no parsing or validation. Every
 * route of the plugin must declare its scope (`config: { scope }`), or the server does not start.
 */
export function protect(server: FastifyInstance, app: App, config: Config): void {
  requireScopeDeclarations(server);
  server.addHook('onRequest', authenticate(app));
  server.addHook('onRequest', checkScope);
  server.addHook('onRequest', rateLimit(app.requestLimits, config.rateLimit));
}

/** Rate limits for a plugin whose routes are public (limited per client address), counted before the body is read. */
export function limitPublic(server: FastifyInstance, app: App, config: Config): void {
  server.addHook('onRequest', rateLimit(app.requestLimits, config.rateLimit));
}

export const bearer = [{ bearer: [] as string[] }];
