import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import { problems } from '../schemas.ts';
import { bearer, protect } from './guard.ts';

export const channelRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  server.get('/v1/channels', {
    config: { rateClass: 'read' },
    schema: {
      tags: ['channels'], security: bearer, summary: 'External channels and their capabilities',
      response: { 200: Type.Array(Type.Object({ channel: Type.String(), enabled: Type.Boolean(), mode: Type.String(), capabilities: Type.Object({}, { additionalProperties: true }) })), ...problems(401) },
    },
  }, async () => app.connectors.map((c) => ({ channel: c.channel, enabled: true, mode: c.mode, capabilities: c.capabilities })));
};
