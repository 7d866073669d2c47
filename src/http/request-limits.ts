/**
 * What one request may cost before our code sees it: body size by route class, JSON nesting
 * depth, and how long its head and body may take to arrive.
 */
import { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_BASE } from './problem.ts';

const KiB = 1024;
/** Deeper JSON is refused before JSON.parse: our bodies nest 3 levels, and parsing deep nesting blocks the event loop. */
export const MAX_JSON_DEPTH = 32;

/** auth: credentials; message: messages and conversations; upload: streamed, limited by its route; other: the server default. */
export type BodyClass = 'auth' | 'message' | 'upload' | 'other';

export function bodyClassOf(url: string | undefined): BodyClass {
  if (!url) return 'other';
  if (url.startsWith('/auth/')) return 'auth';
  if (url.startsWith('/v1/messages') || url.startsWith('/v1/conversations')) return 'message';
  if (url.startsWith('/v1/tus') || url.startsWith('/v1/files/upload/') || /^\/v1\/files\/[^/]+\/chunks$/.test(url)) return 'upload';
  return 'other';
}

/**
 * Body limits in bytes: a few KiB for credentials; 64 KiB for messages and conversations, more
 * only when MAX_TEXT_LENGTH (4 UTF-8 bytes per character) or MAX_GROUP_MEMBERS (ids of up to 16
 * digits) need it. Upload routes keep the limits they declare.
 */
export function bodyLimits(limits: { maxTextLength: number; maxGroupMembers: number }): Partial<Record<BodyClass, number>> {
  return { auth: 8 * KiB, message: Math.max(64 * KiB, limits.maxTextLength * 4 + 4 * KiB, limits.maxGroupMembers * 17 + 4 * KiB) };
}

/** Gives every route without its own `bodyLimit` the limit of its class (call before routes are added). */
export function limitBodies(server: FastifyInstance, limits: Partial<Record<BodyClass, number>>): void {
  server.addHook('onRoute', (route) => {
    route.bodyLimit ??= limits[bodyClassOf(route.url)];
  });
}

/** Whether JSON text nests arrays and objects deeper than `max` (brackets inside strings do not count). Linear, no allocation. */
export function isNestedDeeper(text: string, max: number): boolean {
  let depth = 0;
  let isInString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isInString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) isInString = false;
    } else if (c === 0x22) isInString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export interface RequestTimes {
  bodyMs: number;
  uploadBodyMs: number;
}

/**
 * Closes the connection (after a 408 problem document) when a request's head and body have not
 * fully arrived within its route's time: uploadBodyMs for chunk and tus routes, bodyMs otherwise.
 * Node's own requestTimeout is one value for every route, and checked only every few seconds.
 */
export function limitRequestTimes(server: FastifyInstance, times: RequestTimes): void {
  server.addHook('onRequest', (request, reply, done) => {
    // WebSocket upgrades leave HTTP behind; complete requests have nothing left to wait for;
    // injected requests (tests) have no socket to be slow on.
    if (request.raw.headers.upgrade || request.raw.complete || !(request.raw.socket instanceof Socket)) return done();
    const ms = bodyClassOf(request.routeOptions.url) === 'upload' ? times.uploadBodyMs : times.bodyMs;
    const timer = setTimeout(() => {
      if (!request.raw.complete) refuseSlowRequest(request, reply, ms);
    }, ms);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
    done();
  });
}

function refuseSlowRequest(request: FastifyRequest, reply: FastifyReply, ms: number): void {
  const socket = request.raw.socket;
  request.log.debug({ ms, route: request.routeOptions.url }, 'request did not arrive in time; connection closed');
  if (!reply.raw.headersSent && socket.writable) {
    const code = 'request-timeout';
    const body = JSON.stringify({
      type: PROBLEM_BASE + code,
      title: 'Request timeout',
      status: 408,
      code,
      detail: `The request did not arrive within ${ms} ms`,
      instance: request.url.split('?')[0],
      trace_id: request.id,
    });
    socket.write(
      `HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
