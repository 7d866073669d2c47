import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app/app.ts';
import type { Principal } from '../app/auth.ts';
import { unauthenticated } from '../domain/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Reads `Authorization: Bearer <jwt>`; throws 401 (with WWW-Authenticate) otherwise. */
export function authenticate(app: App) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw unauthenticated('missing-token', 'Send an access token as "Authorization: Bearer <token>"');
    request.principal = await app.auth.verifyAccessToken(match[1]);
  };
}

/** The authenticated caller; only for routes behind `authenticate`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthenticated('missing-token', 'Authentication required');
  return request.principal;
}
