import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import { Id, UserSummary, problems } from '../schemas.ts';
import { bearer, protect } from './guard.ts';

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
};
