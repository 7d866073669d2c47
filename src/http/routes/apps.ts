/** Apps (bots, integrations) and their API keys; managed with a person's token only (scope `user`). */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import { MAX_APP_NAME } from '../../app/apps.ts';
import { SCOPES, type Scope } from '../../domain/scopes.ts';
import { Id, Uuid, problems } from '../schemas.ts';
import { principalOf } from '../auth.ts';
import { bearer, protect } from './guard.ts';

const ScopeName = Type.Union(
  SCOPES.map((s) => Type.Literal(s)),
  { description: SCOPES.join(', ') },
);
const KeyView = Type.Object({
  key_id: Uuid,
  prefix: Type.String({ description: 'The first characters of the key, to tell keys apart' }),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Set while a rotated-out key is in its grace period' }),
});
const AppFields = {
  app_id: Id,
  name: Type.String(),
  scopes: Type.Array(ScopeName),
  bot_user_id: Type.Integer({ description: "The app's bot user: add it to conversations like a person" }),
  bot_username: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  keys: Type.Array(KeyView),
};
const ApiKey = Type.String({ description: 'Shown once: only its SHA-256 is stored. Send as "Authorization: Bearer c4a_…" or "X-Api-Key: c4a_…"' });
const CreatedApp = Type.Object({ ...AppFields, api_key: ApiKey, key_id: Uuid, prefix: Type.String() });
const Rotated = Type.Object({
  api_key: ApiKey,
  key_id: Uuid,
  prefix: Type.String(),
  grace_seconds: Type.Integer({ description: 'APP_KEY_ROTATION_GRACE_SECONDS: how long the previous keys keep working' }),
  previous_keys_expire_at: Type.String({ format: 'date-time' }),
});
const AppParams = Type.Object({ id: Id });
const KeyParams = Type.Object({ id: Id, key_id: Uuid });

export const appRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  const base = { tags: ['apps'], security: bearer };

  server.post<{ Body: { name: string; scopes: Scope[] } }>(
    '/v1/apps',
    {
      config: { rateClass: 'write', scope: 'user' },
      schema: {
        ...base,
        summary: 'Create an app (a bot user with an API key); the key is in this answer only',
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: MAX_APP_NAME }),
          scopes: Type.Array(ScopeName, { maxItems: SCOPES.length, uniqueItems: true }),
        }),
        response: { 201: CreatedApp, ...problems(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await app.apps.create(principalOf(request).userId, request.body)),
  );

  server.get(
    '/v1/apps',
    {
      config: { rateClass: 'read', scope: 'user' },
      schema: {
        ...base,
        summary: 'My apps and their live keys (never the keys themselves)',
        response: { 200: Type.Object({ items: Type.Array(Type.Object(AppFields)) }), ...problems(401, 403, 429) },
      },
    },
    async (request) => app.apps.list(principalOf(request).userId),
  );

  server.post<{ Params: { id: number } }>(
    '/v1/apps/:id/keys',
    {
      config: { rateClass: 'write', scope: 'user' },
      schema: {
        ...base,
        summary: 'Rotate: a new key (shown once); the previous keys keep working for grace_seconds, then stop',
        params: AppParams,
        response: { 201: Rotated, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await app.apps.rotate(principalOf(request).userId, request.params.id)),
  );

  server.delete<{ Params: { id: number; key_id: string } }>(
    '/v1/apps/:id/keys/:key_id',
    {
      config: { rateClass: 'write', scope: 'user' },
      schema: {
        ...base,
        summary: 'Revoke one key at once, on every instance',
        params: KeyParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await app.apps.revokeKey(principalOf(request).userId, request.params.id, request.params.key_id);
      return reply.code(204).send();
    },
  );

  server.delete<{ Params: { id: number } }>(
    '/v1/apps/:id',
    {
      config: { rateClass: 'write', scope: 'user' },
      schema: {
        ...base,
        summary: 'Delete the app: every key stops at once, on every instance (its bot user and messages stay)',
        params: AppParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await app.apps.revoke(principalOf(request).userId, request.params.id);
      return reply.code(204).send();
    },
  );
};
