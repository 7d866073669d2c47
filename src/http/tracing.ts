/**
 * One server span per HTTP request, continuing the caller's `traceparent` header. Registered
 * only when tracing is on, so an untraced server has no extra hooks at all.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import { SpanKind, SpanStatusCode, endSpan, isTracing, runInSpan, startSpan, traceIdOf, type Span } from '../tracing.ts';

/** Probes, scrapes and socket upgrades (a span would last the connection) are not traced. */
const UNTRACED = new Set(['/health', '/ready', '/metrics', '/ws']);
const spans = new WeakMap<FastifyRequest, Span>();

/** Adds the span hooks to `server` when tracing is on (call before registering routes). */
export function traceRequests(server: FastifyInstance): void {
  if (!isTracing()) return;
  server.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    if (route && UNTRACED.has(route)) return done();
    const incoming = request.headers.traceparent;
    const span = startSpan(route ? `${request.method} ${route}` : request.method, typeof incoming === 'string' ? incoming : undefined, {
      kind: SpanKind.SERVER,
      attributes: { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_URL_PATH]: request.url.split('?')[0], ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}) },
    });
    if (span) spans.set(request, span);
    done();
  });
  // The span becomes active only now: body parsing runs in the socket's callbacks, which would
  // lose a context entered in onRequest; everything from here to the reply runs inside it.
  server.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (span) runInSpan(span, done);
    else done();
  });
  server.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      // Server spans fail on 5xx only: a 4xx is the client's mistake, answered correctly.
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      // Kept in the map: the request log (a later onResponse hook) still reads its trace id.
      span.end();
    }
    done();
  });
  server.addHook('onRequestAbort', (request, done) => {
    const span = spans.get(request);
    if (span?.isRecording()) endSpan(span, new Error('the client aborted the request'));
    done();
  });
}

/** The trace id of the request's span (for problem documents and request logs), if it is traced. */
export const requestTraceId = (request: FastifyRequest): string | undefined => traceIdOf(spans.get(request));
