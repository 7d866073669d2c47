/** RFC 9457 problem documents: the only place that maps error kinds to HTTP statuses. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorKind } from '../domain/errors.ts';
import { DatabaseError } from '../ports/database.ts';
import { requestTraceId } from './tracing.ts';

const STATUS: Record<ErrorKind, number> = {
  'not-found': 404,
  conflict: 409,
  forbidden: 403,
  invalid: 400,
  unprocessable: 422,
  unauthenticated: 401,
  'rate-limited': 429,
  unavailable: 503,
  'too-large': 413,
};

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

export const PROBLEM_BASE = 'https://chat4all.dev/problems/';

export function sendProblem(request: FastifyRequest, reply: FastifyReply, status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  // RFC 6750 §3: no error attribute when the request carried no credentials at all.
  if (status === 401) reply.header('WWW-Authenticate', code === 'missing-token' ? 'Bearer realm="chat4all"' : 'Bearer realm="chat4all", error="invalid_token"');
  if (status === 503 && !reply.hasHeader('Retry-After')) reply.header('Retry-After', '5');
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: PROBLEM_BASE + code,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      instance: request.url.split('?')[0],
      trace_id: requestTraceId(request) ?? request.id,
      ...extra,
    });
}

/** Fastify error handler: domain errors, schema failures, parser errors, and the unknown (500, nothing leaked). */
export function handleError(error: FastifyError | DomainError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof DomainError) {
    const status = STATUS[error.kind];
    if (error.kind === 'rate-limited' && typeof error.details.retry_after === 'number') reply.header('Retry-After', String(error.details.retry_after));
    return sendProblem(request, reply, status, error.code, error.message, error.details);
  }
  if (error instanceof DatabaseError && error.isConnectionFailure) {
    request.log.error({ err: error }, 'database unavailable');
    return sendProblem(request, reply, 503, 'dependency-unavailable', 'A dependency is unavailable; retry shortly');
  }
  if (error instanceof DatabaseError && error.isForeignKeyViolation) {
    // Checks passed, then a row they relied on went away (e.g. the caller's user was deleted).
    request.log.info({ constraint: error.constraint }, 'referenced row gone');
    return sendProblem(request, reply, 409, 'reference-gone', 'Something this request refers to no longer exists; nothing was stored');
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const errors = fe.validation.map((v) => ({
      path: v.instancePath || `/${(v.params as { missingProperty?: string }).missingProperty ?? ''}`,
      message: v.message ?? 'is invalid',
    }));
    const where = fe.validationContext === 'querystring' ? 'query string' : (fe.validationContext ?? 'request');
    return sendProblem(request, reply, 400, 'validation-failed', `The ${where} is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, {
      errors,
    });
  }
  if (fe.statusCode === 413 || fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return sendProblem(request, reply, 413, 'payload-too-large', 'The request body is too large');
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendProblem(request, reply, 415, 'unsupported-media-type', 'This content type is not accepted here');
  if (fe.statusCode === 400)
    return sendProblem(
      request,
      reply,
      400,
      'malformed-request',
      fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'The JSON body is empty' : 'The request body is not valid JSON',
    );
  if (fe.statusCode && fe.statusCode < 500) return sendProblem(request, reply, fe.statusCode, 'bad-request', 'The request could not be processed');
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(request, reply, 500, 'internal', 'An unexpected error occurred; it was logged with this trace id');
}

/** A database that does not answer (as opposed to one that refused the statement): retry later. */
export const isDependencyFailure = (e: unknown) => e instanceof DatabaseError && e.isConnectionFailure;
