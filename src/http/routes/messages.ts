import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import type { SendRequest } from '../../app/messages.ts';
import { Accepted, SendMessage, Uuid, messageRef, problems } from '../schemas.ts';
import { principalOf } from '../auth.ts';
import { bearer, protect } from './guard.ts';

export const messageRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  const tags = ['messages'];

  server.post<{ Body: SendRequest }>(
    '/v1/messages',
    {
      config: { rateClass: 'send', scope: 'messages:write' },
      schema: {
        tags,
        security: bearer,
        summary: 'Send a message (idempotent on message_id); 202 once committed',
        body: SendMessage,
        response: { 202: Accepted, ...problems(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { accepted, isReplay } = await app.messages.send(p.userId, p.username, request.body, p.app !== undefined);
      if (isReplay) reply.header('Idempotent-Replayed', 'true');
      return reply.code(202).send(accepted);
    },
  );

  server.get<{ Params: { message_id: string } }>(
    '/v1/messages/:message_id',
    {
      config: { rateClass: 'read', scope: 'messages:read' },
      schema: {
        tags,
        security: bearer,
        summary: 'A message with per-recipient and per-channel statuses and its history',
        params: Type.Object({ message_id: Uuid }),
        response: { 200: messageRef, ...problems(400, 401, 404, 429) },
      },
    },
    async (request) => app.messages.details(principalOf(request).userId, request.params.message_id),
  );
};
