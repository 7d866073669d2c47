/**
 * What a hostile client can make one request cost: who it may claim to be behind a proxy, how big
 * and how deep its body may be, and how slowly it may send it (real sockets).
 */
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, uuid, type TestInstance } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';
import { expectProblem, privateConversation, signAccessToken, signingKey } from '../support/factories.ts';

const KiB = 1024;
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const tusCreate = (token: string, headers: Record<string, string> = {}) => ({
  token,
  headers: { 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': `filename ${Buffer.from('a.txt').toString('base64')}`, ...headers },
});

describe.each(storeKinds())('request limits on %s', (kind) => {
  describe('without TRUST_PROXY (the default)', () => {
    let c4: TestInstance;
    beforeAll(async () => {
      c4 = await startInstance(kind, { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '3' });
    }, 60_000);
    afterAll(async () => c4?.close());

    it('keys rate limits by the peer address: a forged X-Forwarded-For does not buy a new budget', async () => {
      const attempt = (i: number) =>
        c4.request('POST', '/auth/token', { headers: { 'x-forwarded-for': `198.51.100.${i}` }, body: { username: 'user1', password: 'wrong-password' } });
      for (let i = 1; i <= 3; i++) expectProblem(await attempt(i), 401, 'invalid-credentials');
      expectProblem(await attempt(4), 429, 'rate-limited');
    });

    it('builds the tus Location from Host, ignoring X-Forwarded-Host and X-Forwarded-Proto', async () => {
      // The auth budget of this instance is spent above: a token signed with the instance key instead.
      const token = await signedToken(c4);
      const res = await c4.request(
        'POST',
        '/v1/tus',
        tusCreate(token, { host: 'chat.example.com', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers.location).toMatch(/^http:\/\/chat\.example\.com\/v1\/tus\/[0-9a-f-]{36}$/);
    });
  });

  describe('body size, JSON depth and slow clients', () => {
    let c4: TestInstance;
    let port: number;
    beforeAll(async () => {
      c4 = await startInstance(kind, { HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_BODY_TIMEOUT_MS: '1000', HTTP_UPLOAD_TIMEOUT_MS: '3000' });
      port = (c4.server.server.address() as AddressInfo).port;
    }, 60_000);
    afterAll(async () => c4?.close());

    it('answers 500k nested arrays to /auth/token at once with 413 (auth bodies are a few KiB)', async () => {
      const started = Date.now();
      expectProblem(
        await c4.request('POST', '/auth/token', { headers: { 'content-type': 'application/json' }, body: nested(500_000) }),
        413,
        'payload-too-large',
      );
      expect(Date.now() - started).toBeLessThan(1000);
      expectProblem(await c4.request('POST', '/auth/register', { body: { username: 'big_body', password: 'x'.repeat(9 * KiB) } }), 413, 'payload-too-large');
    });

    it('refuses JSON nested deeper than 32 levels with 400 json-too-deep before parsing it, within the body limit too', async () => {
      const u = await c4.user('deep');
      const started = Date.now();
      // ~1 MB: under the 1 MiB limit of /v1/files/initiate, so only the depth check stands in the way.
      const deep = await c4.request('POST', '/v1/files/initiate', { token: u.token, headers: { 'content-type': 'application/json' }, body: nested(500_000) });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(expectProblem(deep, 400, 'json-too-deep').max_depth).toBe(32);
      expectProblem(
        await c4.request('POST', '/v1/messages', { token: u.token, headers: { 'content-type': 'application/json' }, body: nested(33) }),
        400,
        'json-too-deep',
      );
      // 32 levels parse (and then fail the schema); brackets inside strings do not count.
      expectProblem(
        await c4.request('POST', '/v1/messages', { token: u.token, headers: { 'content-type': 'application/json' }, body: nested(32) }),
        400,
        'validation-failed',
      );
      const peer = await c4.user('deep_peer');
      const conversationId = await privateConversation(c4, u, peer);
      const text = '[{'.repeat(200);
      const sent = await c4.request('POST', '/v1/messages', {
        token: u.token,
        body: { message_id: uuid(), conversation_id: conversationId, payload: { type: 'text', content: text } },
      });
      expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    });

    it('limits message and conversation bodies to 64 KiB', async () => {
      const u = await c4.user('sizes');
      const peer = await c4.user('sizes_peer');
      const conversationId = await privateConversation(c4, u, peer);
      const message = (padding: number) => ({
        message_id: uuid(),
        conversation_id: conversationId,
        payload: { type: 'text', content: 'hi' },
        padding: 'x'.repeat(padding),
      });
      expect((await c4.request('POST', '/v1/messages', { token: u.token, body: message(60 * KiB) })).status).toBe(202);
      expectProblem(await c4.request('POST', '/v1/messages', { token: u.token, body: message(65 * KiB) }), 413, 'payload-too-large');
      expectProblem(
        await c4.request('POST', '/v1/conversations', {
          token: u.token,
          body: { type: 'group', name: 'g', member_ids: [peer.id], description: 'x'.repeat(65 * KiB) },
        }),
        413,
        'payload-too-large',
      );
    });

    it('closes connections whose body stalls, with 408 request-timeout after HTTP_BODY_TIMEOUT_MS', async () => {
      const head = 'POST /auth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
      const results = await Promise.all(Array.from({ length: 20 }, () => rawExchange(port, head + '{"username":')));
      for (const r of results) {
        expect(r.closedAfterMs).toBeGreaterThanOrEqual(900);
        expect(r.closedAfterMs).toBeLessThan(2500);
        expect(r.response).toMatch(/^HTTP\/1\.1 408 /);
        expect(r.response).toContain('"code":"request-timeout"');
      }
      // The server is fine afterwards.
      expect((await c4.request('GET', '/health')).status).toBe(200);
    });

    it('closes connections whose head never ends after HTTP_HEADERS_TIMEOUT_MS', async () => {
      const r = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n');
      expect(r.closedAfterMs).toBeLessThan(2000);
      expect(r.response).toMatch(/^HTTP\/1\.1 408 /);
    });

    it('gives upload chunks the longer HTTP_UPLOAD_TIMEOUT_MS', async () => {
      const u = await c4.user('slow_upload');
      const init = await c4.request('POST', '/v1/files/initiate', {
        token: u.token,
        body: { filename: 'a.bin', file_size: 2 * 1024 * KiB, chunk_size: 1024 * KiB },
      });
      expect(init.status, JSON.stringify(init.body)).toBe(201);
      const head = `POST /v1/files/${init.body.upload_id}/chunks?chunk_number=1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${u.token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${1024 * KiB}\r\n\r\n`;
      const r = await rawExchange(port, head + 'twelve bytes');
      expect(r.closedAfterMs).toBeGreaterThanOrEqual(2900);
      expect(r.closedAfterMs).toBeLessThan(4500);
    });
  });
});

describe('with TRUST_PROXY=1 (one proxy in front, e.g. the ingress)', () => {
  let c4: TestInstance;
  beforeAll(async () => {
    c4 = await startInstance('pglite', { TRUST_PROXY: '1', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '2' });
  }, 60_000);
  afterAll(async () => c4?.close());

  it('takes the client address the proxy appended, not one the client wrote before it', async () => {
    const via = (forged: string, real: string) =>
      c4.request('POST', '/auth/token', { headers: { 'x-forwarded-for': `${forged}, ${real}` }, body: { username: 'user1', password: 'wrong-password' } });
    expectProblem(await via('198.51.100.1', '203.0.113.7'), 401, 'invalid-credentials');
    expectProblem(await via('198.51.100.2', '203.0.113.7'), 401, 'invalid-credentials');
    expectProblem(await via('198.51.100.3', '203.0.113.7'), 429, 'rate-limited');
    expectProblem(await via('198.51.100.3', '203.0.113.8'), 401, 'invalid-credentials');
  });

  it('takes the host the proxy forwarded for the tus Location', async () => {
    const res = await c4.request(
      'POST',
      '/v1/tus',
      tusCreate(await signedToken(c4), { host: 'internal:8000', 'x-forwarded-host': 'chat.example.com', 'x-forwarded-proto': 'https' }),
    );
    expect(res.headers.location).toMatch(/^https:\/\/chat\.example\.com\/v1\/tus\//);
  });
});

/** An access token for demo user1 without spending the auth rate-limit budget. */
async function signedToken(c4: TestInstance): Promise<string> {
  const [user] = await c4.query<{ id: string }>("SELECT id FROM users WHERE username = 'user1'");
  return signAccessToken(await signingKey(c4), { id: Number(user.id), username: 'user1' });
}

/** Sends `data` on a fresh socket and waits until the server closes it; returns what came back and when. */
function rawExchange(port: number, data: string): Promise<{ closedAfterMs: number; response: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let response = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    socket.on('data', (chunk) => (response += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ closedAfterMs: Date.now() - started, response }));
  });
}
