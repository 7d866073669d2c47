import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import { invalid } from '../../domain/errors.ts';
import { PublicUser, Register, TokenPair, TokenRequest, problems } from '../schemas.ts';
import { authenticate, principalOf } from '../auth.ts';
import { bearer, limitPublic } from './guard.ts';
import { checkScope } from '../scope.ts';

export const authRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  limitPublic(server, app, config);
  const tags = ['auth'];

  server.post<{ Body: { username: string; password: string; display_name?: string } }>(
    '/auth/register',
    {
      config: { rateClass: 'auth' },
      schema: {
        tags,
        summary: 'Create an account (when registration is open)',
        body: Register,
        response: { 201: PublicUser, ...problems(400, 404, 409, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await app.auth.register(request.body)),
  );

  server.post<{ Body: Record<string, string | undefined> }>(
    '/auth/token',
    {
      config: { rateClass: 'auth' },
      schema: {
        tags,
        summary: 'Get tokens: password, client_credentials or refresh_token grant (JSON or form-encoded)',
        body: TokenRequest,
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        response: { 200: TokenPair, ...problems(400, 401, 429) },
      },
    },
    async (request) => {
      const b = request.body;
      const grant = b.grant_type ?? 'password';
      if (grant === 'refresh_token') return app.auth.refresh(required(b.refresh_token, 'refresh_token'));
      const [user, secret] = grant === 'client_credentials' ? [b.client_id, b.client_secret] : [b.username, b.password];
      return app.auth.login(
        required(user, grant === 'client_credentials' ? 'client_id' : 'username'),
        required(secret, grant === 'client_credentials' ? 'client_secret' : 'password'),
      );
    },
  );

  server.post<{ Body: { refresh_token: string } }>(
    '/auth/refresh',
    {
      config: { rateClass: 'auth' },
      schema: {
        tags,
        summary: 'Rotate a refresh token',
        body: Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 512 }) }),
        response: { 200: TokenPair, ...problems(400, 401, 429) },
      },
    },
    async (request) => app.auth.refresh(request.body.refresh_token),
  );

  server.post<{ Body: { token: string; token_type_hint?: string } }>(
    '/auth/revoke',
    {
      config: { rateClass: 'auth' },
      schema: {
        tags,
        summary: 'Revoke a refresh token (its family) or an access token (RFC 7009)',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }), token_type_hint: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: { 200: Type.Object({ message: Type.String() }), ...problems(400, 429) },
      },
    },
    async (request) => {
      await app.auth.revoke(request.body.token);
      return { message: 'Token revoked' };
    },
  );

  server.get(
    '/auth/me',
    {
      config: { scope: 'authenticated' },
      preHandler: [authenticate(app), checkScope],
      schema: { tags, summary: 'The authenticated user', security: bearer, response: { 200: PublicUser, ...problems(401) } },
    },
    async (request) => app.auth.me(principalOf(request).userId),
  );
};

function required(value: string | undefined, name: string): string {
  if (!value) throw invalid('validation-failed', `${name} is required for this grant`, { errors: [{ path: `/${name}`, message: 'is required' }] });
  return value;
}
