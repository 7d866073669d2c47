/** Scope checks: every authenticated route declares what it needs in its config (`config: { scope: 'messages:write' }`). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { forbidden } from '../domain/errors.ts';
import { allows, type RouteScope } from '../domain/scopes.ts';
import { principalOf } from './auth.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the caller needs: a scope, `authenticated` (any credential) or `user` (a person's token, not an API key). */
    scope?: RouteScope;
  }
}

/** Refuses, at startup, a route of this plugin that declares no scope: no route can be added unchecked. */
export function requireScopeDeclarations(server: FastifyInstance): void {
  server.addHook('onRoute', (route) => {
    const config = route.config as { scope?: RouteScope } | undefined;
    if (!config?.scope) throw new Error(`${String(route.method)} ${route.url} needs authentication but declares no scope (config: { scope: … })`);
  });
}

/** onRequest, after authentication: 403 insufficient-scope (RFC 6750) or user-token-required. A person's token has every scope. */
export async function checkScope(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const needed = request.routeOptions.config.scope;
  const principal = principalOf(request);
  if (needed === undefined) throw new Error(`route ${request.routeOptions.url} declares no scope`);
  if (needed === 'authenticated') return;
  if (needed === 'user') {
    if (principal.app) throw forbidden('user-token-required', "Apps are managed with a person's access token, not with an API key");
    return;
  }
  if (allows(principal.app?.scopes, needed)) return;
  reply.header('WWW-Authenticate', `Bearer realm="chat4all", error="insufficient_scope", scope="${needed}"`);
  throw forbidden('insufficient-scope', `This API key lacks the scope ${needed}`, { scope: needed });
}
