import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import type { ChannelStatus } from '../../app/channels/channel-overview.ts';
import { problems } from '../schemas.ts';
import { bearer, protect } from './guard.ts';

const Health = Type.Object({
  last_success_at: Type.Union([Type.String(), Type.Null()]),
  last_error_at: Type.Union([Type.String(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  consecutive_failures: Type.Integer(),
});
const ChannelView = Type.Object({
  channel: Type.String(),
  enabled: Type.Boolean(),
  mode: Type.Union([Type.Literal('live'), Type.Literal('mock'), Type.Literal('disabled')]),
  capabilities: Type.Object({}, { additionalProperties: true }),
  health: Health,
});

export const channelRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  server.get(
    '/v1/channels',
    {
      config: { rateClass: 'read', scope: 'conversations:read' },
      schema: {
        tags: ['channels'],
        security: bearer,
        summary: 'External channels: mode (live, mock, disabled), capabilities and health',
        response: { 200: Type.Array(ChannelView), ...problems(401) },
      },
    },
    async () => (await app.channels.list()).map(presentChannel),
  );
};

/** The wire form of a channel's status (`enabled` is derived from the mode). */
function presentChannel(c: ChannelStatus) {
  return { channel: c.channel, enabled: c.mode !== 'disabled', mode: c.mode, capabilities: c.capabilities, health: c.health };
}
