/** Web Push subscriptions and the per-conversation settings that mute them (docs/notifications.md). */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import type { PushSubscriptionInput } from '../../domain/push.ts';
import { ConversationIdParams, problems } from '../schemas.ts';
import { principalOf } from '../auth.ts';
import { bearer, protect } from './guard.ts';

const Endpoint = Type.String({ minLength: 1, maxLength: 2048, description: "The push service's URL for this browser (https)" });
const PushSubscriptionBody = Type.Object(
  {
    endpoint: Endpoint,
    expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()], { description: 'Ignored (browsers send null)' })),
    keys: Type.Object({
      p256dh: Type.String({ minLength: 1, maxLength: 128, description: "The browser's P-256 public key: 65 bytes, base64url" }),
      auth: Type.String({ minLength: 1, maxLength: 64, description: 'The authentication secret: 16 bytes, base64url' }),
    }),
  },
  { description: 'A PushSubscription as the browser serialises it (`subscription.toJSON()`)' },
);
const StoredSubscription = Type.Object({ endpoint: Type.String(), created_at: Type.String({ format: 'date-time' }) });
const Settings = Type.Object({
  conversation_id: Type.Integer(),
  muted_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'No push notifications for this conversation until then; null: not muted',
  }),
});

type IdParams = { Params: { id: number } };

export const pushRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  const base = { tags: ['notifications'], security: bearer };

  server.get(
    '/v1/push/vapid-public-key',
    {
      config: { rateClass: 'read', scope: 'authenticated' },
      schema: {
        ...base,
        summary: 'The application server key to subscribe with (PushManager.subscribe applicationServerKey)',
        response: { 200: Type.Object({ public_key: Type.String({ description: 'Uncompressed P-256 point, base64url' }) }), ...problems(401, 429, 503) },
      },
    },
    async () => ({ public_key: app.pushSubscriptions.publicKey() }),
  );

  server.post<{ Body: PushSubscriptionInput }>(
    '/v1/push/subscriptions',
    {
      config: { rateClass: 'write', scope: 'user' },
      schema: {
        ...base,
        summary: "Store this browser's push subscription for the caller (the same endpoint again replaces its keys)",
        body: PushSubscriptionBody,
        response: { 201: StoredSubscription, ...problems(400, 401, 429, 503) },
      },
    },
    async (request, reply) => reply.code(201).send(await app.pushSubscriptions.subscribe(principalOf(request).userId, request.body)),
  );

  server.delete<{ Body: { endpoint: string } }>(
    '/v1/push/subscriptions',
    {
      config: { rateClass: 'write', scope: 'user' },
      schema: {
        ...base,
        summary: "Remove the caller's subscription with this endpoint (unknown endpoints are ignored)",
        body: Type.Object({ endpoint: Endpoint }),
        response: { 204: Type.Null(), ...problems(400, 401, 429) },
      },
    },
    async (request, reply) => {
      await app.pushSubscriptions.unsubscribe(principalOf(request).userId, request.body.endpoint);
      return reply.code(204).send();
    },
  );

  server.get<IdParams>(
    '/v1/conversations/:id/settings',
    {
      config: { rateClass: 'read', scope: 'conversations:read' },
      schema: {
        ...base,
        summary: 'My settings of a conversation (mute)',
        params: ConversationIdParams,
        response: { 200: Settings, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => app.conversationSettings.of(principalOf(request).userId, request.params.id),
  );

  server.put<IdParams & { Body: { muted_until: string | null } }>(
    '/v1/conversations/:id/settings',
    {
      config: { rateClass: 'write', scope: 'conversations:write' },
      schema: {
        ...base,
        summary: "Mute this conversation's push notifications until a time (null unmutes)",
        params: ConversationIdParams,
        body: Type.Object({ muted_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) }),
        response: { 200: Settings, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => app.conversationSettings.update(principalOf(request).userId, request.params.id, request.body.muted_until),
  );
};
