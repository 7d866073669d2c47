import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app/app.ts';
import type { Principal } from '../app/auth.ts';
import { API_KEY_PREFIX } from '../app/apps.ts';
import { unauthenticated } from '../domain/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The credential of a request: `Authorization: Bearer <jwt or c4a_ key>`, else `X-Api-Key: c4a_…`. */
export function credentialOf(headers: FastifyRequest['headers']): string | undefined {
  const header = headers.authorization;
  const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
  const apiKey = headers['x-api-key'];
  return bearer ?? (typeof apiKey === 'string' && apiKey.length > 0 ? apiKey.trim() : undefined);
}

/** A user's access token or an app's API key (told apart by the key's `c4a_` prefix) → its principal; 401 otherwise. */
export function verifyCredential(app: App, credential: string): Promise<Principal> {
  return credential.startsWith(API_KEY_PREFIX) ? app.apps.verifyKey(credential) : app.auth.verifyAccessToken(credential);
}

/** Reads the credential (see credentialOf); throws 401 (with WWW-Authenticate) without a valid one. */
export function authenticate(app: App) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const credential = credentialOf(request.headers);
    if (!credential) throw unauthenticated('missing-token', 'Send an access token as "Authorization: Bearer <token>" (or an API key as "X-Api-Key: c4a_…")');
    request.principal = await verifyCredential(app, credential);
  };
}

/** The authenticated caller; only for routes behind `authenticate`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthenticated('missing-token', 'Authentication required');
  return request.principal;
}
