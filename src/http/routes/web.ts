import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web');

// The client runs only its own scripts and styles, so injected markup cannot execute. connect-src
// stays open: file downloads may redirect to a presigned S3/MinIO URL on another origin.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self' ws: wss: http: https:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** Serves the browser client at / (web/), when it is present. */
export const webRoutes = () => async (server: FastifyInstance) => {
  if (!existsSync(path.join(WEB_DIR, 'index.html'))) return;
  await server.register(fastifyStatic, {
    root: WEB_DIR,
    prefix: '/',
    index: 'index.html',
    wildcard: false,
    cacheControl: true,
    maxAge: 0,
    setHeaders: (reply, filePath) => {
      reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      reply.header('X-Content-Type-Options', 'nosniff');
      reply.header('Referrer-Policy', 'no-referrer');
      // The service worker (web/sw.js) controls the whole origin and is re-checked on every load.
      if (path.basename(filePath) === 'sw.js' && path.dirname(filePath) === WEB_DIR) {
        reply.header('Cache-Control', 'no-cache');
        reply.header('Service-Worker-Allowed', '/');
      }
    },
  });
};
