import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web');

/** Serves the browser client at / (web/), when it is present. */
export const webRoutes = () => async (server: FastifyInstance) => {
  if (!existsSync(path.join(WEB_DIR, 'index.html'))) return;
  await server.register(fastifyStatic, { root: WEB_DIR, prefix: '/', index: 'index.html', wildcard: false, cacheControl: true, maxAge: 0 });
};
