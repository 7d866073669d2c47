/** Test data and assertions shared by the HTTP and WebSocket contract suites. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { SignJWT } from 'jose';
import { TestSocket, uuid } from './harness.ts';
import type { TestTarget } from './targets.ts';

export type Reply = Awaited<ReturnType<TestTarget['request']>>;
export type TestUser = Awaited<ReturnType<TestTarget['user']>>;

/** Asserts an RFC 9457 problem document with this status and stable code; returns its body. */
export function expectProblem(res: Reply, status: number, code: string): Record<string, unknown> {
  expect({ status: res.status, code: res.body?.code }, JSON.stringify(res.body)).toEqual({ status, code });
  expectProblemShape(res);
  return res.body;
}

/** The shape every error response must have: problem+json with type, title, status, detail, code, instance, trace_id. */
export function expectProblemShape(res: Reply): void {
  expect(String(res.headers['content-type']), `${res.status} ${JSON.stringify(res.body)}`).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: expect.stringContaining(String(res.body?.code)),
    title: expect.any(String),
    status: res.status,
    detail: expect.any(String),
    code: expect.stringMatching(/^[a-z]+(-[a-z]+)*$/),
    instance: expect.stringMatching(/^\//),
    trace_id: expect.any(String),
  });
  if (res.status === 401) expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
  if (res.body.code === 'validation-failed') {
    expect(res.body.errors, 'validation failures list their fields').toEqual(
      expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]),
    );
  }
}

/**
 * Makes every error answer of `c4.request` prove it is a problem document, so that each suite
 * checks the error format on every route it touches (not only where a test asserts a code).
 */
export function checkingProblems<T extends TestTarget>(c4: T): T {
  const raw = c4.request;
  c4.request = async (method, url, options) => {
    const res = await raw(method, url, options);
    // /ready's 503 is the readiness document the contract defines, not an error.
    if (res.status >= 400 && !url.startsWith('/ready')) expectProblemShape(res);
    return res;
  };
  return c4;
}

/** Creates (or gets) the private conversation of `a` and `b`; returns its id. */
export async function privateConversation(c4: TestTarget, a: TestUser, b: TestUser): Promise<number> {
  const res = await c4.request('POST', '/v1/conversations', { token: a.token, body: { type: 'private', member_ids: [b.id] } });
  expect(res.status).toBe(201);
  return res.body.conversation_id;
}

/** Creates a group owned by `owner` with `others`; returns its id. */
export async function groupConversation(c4: TestTarget, owner: TestUser, others: TestUser[], name = 'group'): Promise<number> {
  const res = await c4.request('POST', '/v1/conversations', { token: owner.token, body: { type: 'group', name, member_ids: others.map((u) => u.id) } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.conversation_id;
}

/** Sends a text message and expects it accepted; returns the 202 body. */
export async function send(c4: TestTarget, token: string, conversationId: number, text: string, messageId: string = uuid()) {
  const res = await c4.request('POST', '/v1/messages', {
    token,
    body: { message_id: messageId, conversation_id: conversationId, payload: { type: 'text', content: text } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as { status: 'accepted'; message_id: string; conversation_id: number; seq: number; created_at: string };
}

/** Row counts of the tables a request could change: compare before and after bad input. */
export async function tableCounts(c4: TestTarget): Promise<Record<string, number>> {
  // Only tables that requests write synchronously: the pipeline adds status history in the background.
  const tables = ['users', 'refresh_tokens', 'revoked_access_tokens', 'conversations', 'members', 'messages', 'outbox'];
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t] = (await c4.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`))[0].n;
  const [sums] = await c4.query<{ seqs: number; reads: number }>(
    'SELECT (SELECT coalesce(sum(last_seq), 0)::int FROM conversations) AS seqs, (SELECT coalesce(sum(read_seq), 0)::int FROM members) AS reads',
  );
  return { ...counts, sum_last_seq: sums.seqs, sum_read_seq: sums.reads };
}

/** The HS256 key the instance signs access tokens with (JWT_SECRET_KEY, or the embedded DATA_DIR/jwt-secret). */
export async function signingKey(c4: TestTarget): Promise<Uint8Array> {
  const secret = c4.env.JWT_SECRET_KEY ?? (await readFile(path.join(c4.env.DATA_DIR, 'jwt-secret'), 'utf8')).trim();
  return new TextEncoder().encode(secret);
}

/** Signs an access token like the server's, with overridable claims and times (seconds since epoch). */
export async function signAccessToken(
  key: Uint8Array,
  user: { id: number; username: string },
  options: { claims?: Record<string, unknown>; issuedAt?: number; expiresAt?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ user_id: user.id, username: user.username, scope: 'messages:read', type: 'access', ...options.claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(user.id))
    .setJti(uuid())
    .setIssuedAt(options.issuedAt ?? now)
    .setExpirationTime(options.expiresAt ?? now + 600)
    .sign(key);
}

/** A socket that answers the server's `ping` frames with `pong`, as a well-behaved client does. */
export async function liveSocket(url: string): Promise<TestSocket> {
  const socket = await TestSocket.connect(url);
  socket.ws.on('message', (data) => {
    if (String(data).includes('"type":"ping"')) socket.send({ action: 'pong' });
  });
  return socket;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
