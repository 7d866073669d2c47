import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { problems } from '../schemas.ts';
import { bearer, protect } from './guard.ts';
import { principalOf } from '../auth.ts';

const Contact = Type.Object({
  contact_id: Type.Integer(),
  channel: Type.String(),
  external_id: Type.String(),
  display_name: Type.Union([Type.String(), Type.Null()]),
  conversation_id: Type.Union([Type.Integer(), Type.Null()]),
  last_inbound_at: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});
const ListQuery = Type.Object({
  channel: Type.Optional(Type.Union(['whatsapp', 'instagram', 'messenger', 'telegram'].map((c) => Type.Literal(c)))),
  query: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});

export const contactRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  server.get(
    '/v1/contacts',
    {
      config: { rateClass: 'read', scope: 'contacts:read' },
      schema: {
        tags: ['contacts'],
        security: bearer,
        summary: 'People on external channels whose conversations you are in',
        querystring: ListQuery,
        response: {
          200: Type.Object({ contacts: Type.Array(Contact), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer(), has_more: Type.Boolean() }),
          ...problems(400, 401),
        },
      },
    },
    async (request) => {
      const q = request.query as { channel?: ExternalChannel; query?: string; limit: number; offset: number };
      return app.contacts.list(principalOf(request).userId, q);
    },
  );
  server.get(
    '/v1/contacts/:contact_id',
    {
      config: { rateClass: 'read', scope: 'contacts:read' },
      schema: {
        tags: ['contacts'],
        security: bearer,
        summary: 'One contact',
        params: Type.Object({ contact_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
        response: { 200: Contact, ...problems(400, 401, 404) },
      },
    },
    async (request) => app.contacts.get(principalOf(request).userId, (request.params as { contact_id: number }).contact_id),
  );
};
