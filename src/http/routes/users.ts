import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import { Id, UserSummary, problems } from '../schemas.ts';
import { bearer, protect } from './guard.ts';
import { principalOf } from '../auth.ts';

const PresenceBody = Type.Object({
  user_id: Id,
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')], { description: 'online while the user has a live WebSocket on any API instance' }),
  last_seen_at: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'When the last socket closed. Absent while online, for a user who never connected, and for a user who hides it (hide_last_seen) unless you are that user.',
    }),
  ),
});
const Settings = Type.Object({
  hide_last_seen: Type.Boolean({ description: 'Others see online/offline but never last_seen_at (in presence frames and from the API).' }),
});

export const userRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  const tags = ['users'];
  server.get<{ Querystring: { query: string; limit: number } }>(
    '/v1/users',
    {
      config: { rateClass: 'read', scope: 'contacts:read' },
      schema: {
        tags,
        security: bearer,
        summary: 'Search users by username prefix',
        querystring: Type.Object({ query: Type.String({ maxLength: 64, default: '' }), limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) }),
        response: { 200: Type.Object({ items: Type.Array(UserSummary) }), ...problems(400, 401, 429) },
      },
    },
    async (request) => app.users.search(request.query.query, request.query.limit),
  );

  server.get<{ Params: { user_id: number } }>(
    '/v1/users/:user_id',
    {
      config: { rateClass: 'read', scope: 'contacts:read' },
      schema: {
        tags,
        security: bearer,
        summary: 'One user',
        params: Type.Object({ user_id: Id }),
        response: {
          200: Type.Object({ user_id: Id, username: Type.String(), display_name: Type.String(), is_bot: Type.Boolean(), created_at: Type.String() }),
          ...problems(400, 401, 404, 429),
        },
      },
    },
    async (request) => app.users.get(request.params.user_id),
  );

  server.get<{ Params: { user_id: number } }>(
    '/v1/users/:user_id/presence',
    {
      config: { rateClass: 'read', scope: 'conversations:read' },
      schema: {
        tags,
        security: bearer,
        summary: "A user's presence",
        description:
          'Online/offline and last seen of a user who shares a conversation with you (or of yourself). Anyone else answers 404 user-not-found, as for a user who does not exist. Changes arrive live as `presence` WebSocket frames.',
        params: Type.Object({ user_id: Id }),
        response: { 200: PresenceBody, ...problems(400, 401, 404, 429) },
      },
    },
    async (request) => app.presence.get(principalOf(request).userId, request.params.user_id),
  );

  server.get(
    '/v1/users/me/settings',
    {
      config: { rateClass: 'read', scope: 'user' },
      schema: { tags, security: bearer, summary: 'Your privacy settings', response: { 200: Settings, ...problems(401, 429) } },
    },
    async (request) => app.presence.settings(principalOf(request).userId),
  );

  server.put<{ Body: { hide_last_seen?: boolean } }>(
    '/v1/users/me/settings',
    {
      config: { rateClass: 'write', scope: 'user' },
      schema: {
        tags,
        security: bearer,
        summary: 'Change your privacy settings',
        description: 'Fields left out keep their value. hide_last_seen hides when you were last online from everyone else; online/offline stays visible.',
        body: Type.Partial(Settings, { additionalProperties: false }),
        response: { 200: Settings, ...problems(400, 401, 429) },
      },
    },
    async (request) => app.presence.updateSettings(principalOf(request).userId, request.body),
  );
};
