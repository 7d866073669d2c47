/** How `application/json` request bodies are read. */
import type { FastifyInstance } from 'fastify';
import { invalid } from '../domain/errors.ts';
import { decodeUtf8, invalidText } from './invalid-text.ts';
import { MAX_JSON_DEPTH, isNestedDeeper } from './request-limits.ts';

/**
 * Fastify's own JSON parser (with its prototype-poisoning checks), except for an empty body: where
 * the route's body is optional (no body schema, or one that accepts null) it is taken as no body, as
 * for a request without Content-Type. Clients such as the reference Python upload client send
 * `Content-Type: application/json` with nothing after it. Elsewhere it stays 400 malformed-request.
 * JSON is UTF-8 (RFC 8259): bytes that are not are refused (invalid-text), never replaced with U+FFFD.
 * Nesting deeper than MAX_JSON_DEPTH is refused (json-too-deep) before parsing.
 */
export function readJsonBodies(server: FastifyInstance): void {
  const parse = server.getDefaultJsonParser('error', 'error');
  server.removeContentTypeParser('application/json');
  server.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const text = decodeUtf8(typeof body === 'string' ? Buffer.from(body) : body);
    if (text === undefined) return done(invalidText('body', { path: '', message: 'is not UTF-8 text' }), undefined);
    // Deep nesting under the size limit would hold the event loop while parsing: a cheap scan first.
    if (isNestedDeeper(text, MAX_JSON_DEPTH))
      return done(invalid('json-too-deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted`, { max_depth: MAX_JSON_DEPTH }), undefined);
    if (text.trim() !== '') return parse(request, text, done);
    // Fastify validates a missing body as null, so this is the route's own answer for "no body".
    const validate = request.getValidationFunction('body');
    if (!validate || validate(null)) return done(null, undefined);
    done(invalid('malformed-request', 'The JSON body is empty'), undefined);
  });
}
