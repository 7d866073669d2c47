/** Builds the Fastify server (never listens: main.ts and tests decide that). */
import { randomUUID } from 'node:crypto';
import type { ServerOptions } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { asyncApiDocument } from './asyncapi.ts';
import { fixOpenApi } from './openapi-fixes.ts';
import { VERSION } from '../version.ts';
import websocket from '@fastify/websocket';
import type { App } from '../app/app.ts';
import type { Config } from '../config.ts';
import { handleError, sendProblem } from './problem.ts';
import { requestTraceId, traceRequests } from './tracing.ts';
import { addSecurityHeaders } from './security-headers.ts';
import { validatorCompiler } from './validation.ts';
import { refuseInvalidText } from './invalid-text.ts';
import { readJsonBodies } from './json-body.ts';
import { Message, Problem } from './schemas.ts';
import { metrics } from '../metrics.ts';
import { authRoutes } from './routes/auth.ts';
import { userRoutes } from './routes/users.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { messageRoutes } from './routes/messages.ts';
import { messageChangeRoutes } from './routes/message-changes.ts';
import { operationsRoutes } from './routes/operations.ts';
import { channelRoutes } from './routes/channels.ts';
import { contactRoutes } from './routes/contacts.ts';
import { appRoutes } from './routes/apps.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.ts';
import { fileRoutes } from './routes/files.ts';
import { tusRoutes } from './routes/tus.ts';
import { pushRoutes } from './routes/push.ts';
import { WsGateway } from './ws.ts';
import { webRoutes } from './routes/web.ts';
import { bodyLimits, limitBodies, limitRequestTimes } from './request-limits.ts';

/** A registered route, as tests enumerate them (every authenticated one must declare a scope). */
export interface RouteEntry {
  method: string;
  url: string;
  scope?: string;
  isWebSocket: boolean;
}
const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();
/** The routes of a server made by build(). */
export const routesOf = (server: FastifyInstance): readonly RouteEntry[] => routeTables.get(server) ?? [];

export async function build(app: App, config: Config): Promise<{ server: FastifyInstance; gateway: WsGateway }> {
  const server = Fastify({
    loggerInstance: app.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    // Requests are logged once, in onResponse, with their route and latency.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{8,128}$/.test(incoming) ? incoming : randomUUID();
    },
    requestIdHeader: false,
    // Only these peers may choose the client address (rate-limit keys) and host (tus Location).
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    ...serverTimeouts(config.httpTimeouts),
  });
  const routes: RouteEntry[] = [];
  routeTables.set(server, routes);
  server.addHook('onRoute', (r) => {
    for (const method of [r.method].flat())
      routes.push({ method, url: r.url, scope: (r.config as { scope?: string } | undefined)?.scope, isWebSocket: Boolean(r.websocket) });
  });
  limitBodies(server, bodyLimits(config.limits));
  limitRequestTimes(server, config.httpTimeouts);
  traceRequests(server);
  server.setValidatorCompiler(validatorCompiler);
  server.setErrorHandler(handleError);
  server.setNotFoundHandler((request, reply) => sendProblem(request, reply, 404, 'route-not-found', `No route ${request.method} ${request.url.split('?')[0]}`));
  server.addSchema(Problem);
  server.addSchema(Message);
  // JSON routes take JSON (or forms for /auth/token): text/plain is 415, not a guessed body.
  server.removeContentTypeParser('text/plain');
  readJsonBodies(server);
  server.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // One text rule for every route, present and future: params, query, headers and body (src/domain/text.ts).
  server.addHook('preValidation', refuseInvalidText);
  server.addHook('onSend', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  addSecurityHeaders(server);
  server.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'debug';
    request.log[level](
      { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, trace_id: requestTraceId(request) ?? request.id },
      'request',
    );
  });

  await server.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Chat4All API',
        version: '1.0.0',
        description:
          'Unified messaging: conversations, messages, files and external channels. Errors are RFC 9457 problem documents. Live updates (messages, receipts, typing, presence) come over the WebSocket at /ws, described by the AsyncAPI document at [/asyncapi.json](/asyncapi.json).',
      },
      // The bearer is a user's access token (JWT) or an app's API key (c4a_…, also accepted as X-Api-Key).
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or c4a_ API key' } } },
    },
    transformObject: (doc) => ('openapiObject' in doc ? fixOpenApi(doc.openapiObject) : doc.swaggerObject),
    refResolver: { buildLocalReference: (json, _base, _frag, i) => String(json.$id ?? `def-${i}`) },
  });
  // Off in production unless DOCS_ENABLED: the explorer is a third-party page on the API's origin.
  if (config.docs.isEnabled) {
    await server.register(swaggerUi, {
      routePrefix: '/docs',
      // Its own CSP (hashes of its inline scripts), framed by nobody; plain http stays usable locally.
      staticCSP: true,
      transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, '').replace("frame-ancestors 'self'", "frame-ancestors 'none'"),
    });
  }
  const gateway = new WsGateway(app, config);
  // Runs before the plugin's own pre-close (which closes sockets without a code): clients get
  // 1001 "going away" and reconnect elsewhere.
  server.addHook('preClose', async () => gateway.close());
  await server.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await server.register(operationsRoutes(app, config.metrics.port === undefined));
  await server.register(authRoutes(app, config));
  await server.register(userRoutes(app, config));
  await server.register(conversationRoutes(app, config));
  await server.register(messageRoutes(app, config));
  await server.register(messageChangeRoutes(app, config));
  await server.register(channelRoutes(app, config));
  await server.register(contactRoutes(app, config));
  await server.register(appRoutes(app, config));
  await server.register(webhookRoutes(app, config));
  await server.register(webhookEndpointRoutes(app, config));
  await server.register(fileRoutes(app, config));
  await server.register(tusRoutes(app, config));
  await server.register(pushRoutes(app, config));
  await server.register(gateway.plugin());
  await server.register(webRoutes());
  if (config.docs.isEnabled) server.get('/openapi.json', { schema: { hide: true } }, async () => server.swagger());
  if (config.docs.isEnabled) {
    const asyncApi = asyncApiDocument(VERSION);
    server.get('/asyncapi.json', { schema: { hide: true } }, async () => asyncApi);
  }
  return { server, gateway };
}

/** The nearest `hops` proxies are trusted: each appends the address it saw to X-Forwarded-For. */
const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops;

/**
 * Socket-level limits. Per-route body times are ours (limitRequestTimes); Node's requestTimeout
 * is only a backstop past the longest of them.
 */
function serverTimeouts(t: Config['httpTimeouts']): { connectionTimeout: number; keepAliveTimeout: number; requestTimeout: number; http: ServerOptions } {
  const requestTimeout = t.uploadBodyMs + t.headersMs;
  return {
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout,
    // Node checks head and request deadlines on this interval (30 s by default, too coarse for a 10 s head).
    http: { headersTimeout: t.headersMs, requestTimeout, connectionsCheckingInterval: Math.min(5000, Math.max(250, Math.floor(t.headersMs / 4))) },
  };
}
