/** Outbound webhooks: endpoints, their secrets and deliveries (docs/integrations.md "Outbound webhooks"). */
import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config, RateClass } from '../../config.ts';
import { MAX_ENDPOINT_URL_LENGTH, WEBHOOK_EVENT_TYPES } from '../../domain/webhook.ts';
import { Id, problems } from '../schemas.ts';
import { bearer, protect } from './guard.ts';
import { principalOf } from '../auth.ts';

const tags = ['webhooks'];
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const EventType = Type.Union(
  WEBHOOK_EVENT_TYPES.map((e) => Type.Literal(e)),
  { description: 'An event type; see docs/integrations.md for each payload' },
);
const Events = Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true });
const Url = Type.String({ minLength: 1, maxLength: MAX_ENDPOINT_URL_LENGTH, description: 'https URL of the receiver (public address)' });
const Description = Type.String({ maxLength: 500 });

const Endpoint = Type.Object({
  endpoint_id: Id,
  url: Type.String(),
  description: Nullable(Type.String()),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabled_at: Nullable(Timestamp),
  disabled_reason: Nullable(Type.String({ description: 'Why the endpoint was disabled (by its owner, or after failing continuously)' })),
  failing_since: Nullable(Timestamp),
  previous_secret_expires_at: Nullable(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp,
});
const EndpointWithSecret = Type.Intersect([
  Endpoint,
  Type.Object({ secret: Type.String({ description: 'Standard Webhooks signing secret (whsec_…); shown only in this answer' }) }),
]);
const Delivery = Type.Object({
  delivery_id: Id,
  event_id: Type.String(),
  event_type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Timestamp),
  last_attempt_at: Nullable(Timestamp),
  status_code: Nullable(Type.Integer()),
  latency_ms: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  created_at: Timestamp,
});
const EndpointParams = Type.Object({ endpoint_id: Id });
const DeliveryParams = Type.Object({ endpoint_id: Id, delivery_id: Id });

// Routes declare the API-key scope they need (checked by the auth hook once API keys exist).
const routeConfig = (rateClass: RateClass) => ({ rateClass, scope: 'webhooks:manage' }) as FastifyContextConfig;

type EndpointRequest = { Params: { endpoint_id: number } };

export const webhookEndpointRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  const endpoints = app.webhookEndpoints;
  const userOf = (request: Parameters<typeof principalOf>[0]) => principalOf(request).userId;

  server.post<{ Body: { url: string; events: string[]; description?: string } }>(
    '/v1/webhooks/endpoints',
    {
      config: routeConfig('write'),
      schema: {
        tags,
        security: bearer,
        summary: 'Create a webhook endpoint; the answer shows its signing secret once',
        body: Type.Object({ url: Url, events: Events, description: Type.Optional(Description) }, { additionalProperties: false }),
        response: { 201: EndpointWithSecret, ...problems(400, 401, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await endpoints.create(userOf(request), request.body)),
  );
  server.get(
    '/v1/webhooks/endpoints',
    {
      config: routeConfig('read'),
      schema: {
        tags,
        security: bearer,
        summary: 'Your webhook endpoints',
        response: { 200: Type.Object({ endpoints: Type.Array(Endpoint) }), ...problems(401, 429) },
      },
    },
    async (request) => ({ endpoints: await endpoints.list(userOf(request)) }),
  );
  server.get<EndpointRequest>(
    '/v1/webhooks/endpoints/:endpoint_id',
    {
      config: routeConfig('read'),
      schema: { tags, security: bearer, summary: 'One webhook endpoint', params: EndpointParams, response: { 200: Endpoint, ...problems(400, 401, 404, 429) } },
    },
    async (request) => endpoints.get(userOf(request), request.params.endpoint_id),
  );
  server.patch<EndpointRequest & { Body: { url?: string; events?: string[]; description?: string | null; enabled?: boolean } }>(
    '/v1/webhooks/endpoints/:endpoint_id',
    {
      config: routeConfig('write'),
      schema: {
        tags,
        security: bearer,
        summary: 'Change url, events or description; enable or disable',
        params: EndpointParams,
        body: Type.Object(
          { url: Type.Optional(Url), events: Type.Optional(Events), description: Type.Optional(Nullable(Description)), enabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Endpoint, ...problems(400, 401, 404, 429) },
      },
    },
    async (request) => endpoints.update(userOf(request), request.params.endpoint_id, request.body),
  );
  server.delete<EndpointRequest>(
    '/v1/webhooks/endpoints/:endpoint_id',
    {
      config: routeConfig('write'),
      schema: {
        tags,
        security: bearer,
        summary: 'Delete a webhook endpoint',
        params: EndpointParams,
        response: { 204: Type.Null(), ...problems(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      await endpoints.remove(userOf(request), request.params.endpoint_id);
      return reply.code(204).send();
    },
  );
  server.post<EndpointRequest>(
    '/v1/webhooks/endpoints/:endpoint_id/rotate-secret',
    {
      config: routeConfig('write'),
      schema: {
        tags,
        security: bearer,
        summary: 'New signing secret (shown once); the previous one keeps signing beside it for WEBHOOK_SECRET_OVERLAP_MS',
        params: EndpointParams,
        response: { 200: EndpointWithSecret, ...problems(400, 401, 404, 429) },
      },
    },
    async (request) => endpoints.rotateSecret(userOf(request), request.params.endpoint_id),
  );
  server.get<EndpointRequest & { Querystring: { limit: number; offset: number; status?: string } }>(
    '/v1/webhooks/endpoints/:endpoint_id/deliveries',
    {
      config: routeConfig('read'),
      schema: {
        tags,
        security: bearer,
        summary: 'Deliveries to the endpoint, newest first: status code, latency, error, next retry, attempts',
        params: EndpointParams,
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
          offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
          status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])),
        }),
        response: {
          200: Type.Object({ deliveries: Type.Array(Delivery), limit: Type.Integer(), offset: Type.Integer(), has_more: Type.Boolean() }),
          ...problems(400, 401, 404, 429),
        },
      },
    },
    async (request) => endpoints.deliveries(userOf(request), request.params.endpoint_id, request.query),
  );
  server.post<{ Params: { endpoint_id: number; delivery_id: number } }>(
    '/v1/webhooks/endpoints/:endpoint_id/deliveries/:delivery_id/retry',
    {
      config: routeConfig('write'),
      schema: {
        tags,
        security: bearer,
        summary: 'Send one delivery again now',
        params: DeliveryParams,
        response: { 202: Delivery, ...problems(400, 401, 404, 429) },
      },
    },
    async (request, reply) => reply.code(202).send(await endpoints.retry(userOf(request), request.params.endpoint_id, request.params.delivery_id)),
  );
  server.post<EndpointRequest & { Body: { since: string } }>(
    '/v1/webhooks/endpoints/:endpoint_id/replay',
    {
      config: routeConfig('write'),
      schema: {
        tags,
        security: bearer,
        summary: 'Send again, in order, every delivery that failed since a time',
        params: EndpointParams,
        body: Type.Object({ since: Timestamp }, { additionalProperties: false }),
        response: { 202: Type.Object({ replayed: Type.Integer() }), ...problems(400, 401, 404, 429) },
      },
    },
    async (request, reply) => reply.code(202).send(await endpoints.replay(userOf(request), request.params.endpoint_id, new Date(request.body.since))),
  );
};
