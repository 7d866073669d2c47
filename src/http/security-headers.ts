import type { FastifyInstance } from 'fastify';

/**
 * The API answers JSON, so its default policy allows nothing to load or frame it; HTML that needs
 * more (the web client, /docs) sets its own Content-Security-Policy, which is kept.
 */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Security headers on every response: errors, 404s and the web client included. */
export function addSecurityHeaders(server: FastifyInstance): void {
  server.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('Content-Security-Policy', API_CSP);
    reply.header('X-Frame-Options', 'DENY');
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
  });
}
