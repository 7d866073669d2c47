import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, tableCounts, type Reply } from '../support/factories.ts';

const AUTH_PER_MINUTE = 3;
const LOGIN_MAX_FAILURES = 4;

/**
 * Production-like settings: rate limits on (auth: 3 per minute), registration closed, at most 4
 * failed sign-ins per account, and the test client trusted as the proxy in front (TRUST_PROXY).
 */
describe.each(targetKinds())('rate limits and closed registration on %s', (kind) => {
  let c4: TestTarget;
  beforeAll(async () => {
    c4 = checkingProblems(
      await startTarget(kind, {
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_AUTH_PER_MINUTE: String(AUTH_PER_MINUTE),
        REGISTRATION: 'closed',
        LOGIN_MAX_FAILURES: String(LOGIN_MAX_FAILURES),
        TRUST_PROXY: 'loopback',
      }),
    );
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  // Each test is its own client address (the server trusts X-Forwarded-For from loopback), so budgets never mix.
  let address = 0;
  const client = () => ({ 'x-forwarded-for': `203.0.113.${++address}` });
  const login = (headers: Record<string, string>, password = 'password123', username = 'user1') =>
    c4.request('POST', '/auth/token', { headers, body: { username, password } });
  const limitHeaders = (res: Reply) => ({
    limit: res.headers['ratelimit-limit'],
    remaining: res.headers['ratelimit-remaining'],
    reset: Number(res.headers['ratelimit-reset']),
  });

  it(`refuses the ${AUTH_PER_MINUTE + 1}th auth attempt a minute with 429 rate-limited and Retry-After`, async () => {
    const headers = client();
    const answers = [await login(headers), await login(headers, 'wrong-password'), await login(headers)];
    expect(answers.map((r) => r.status)).toEqual([200, 401, 200]);
    expect(answers.map((r) => limitHeaders(r).remaining)).toEqual(['2', '1', '0']);
    for (const r of answers) expect(limitHeaders(r)).toMatchObject({ limit: String(AUTH_PER_MINUTE), reset: expect.any(Number) });

    const refused = await login(headers);
    const problem = expectProblem(refused, 429, 'rate-limited');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limitHeaders(refused)).toMatchObject({ limit: String(AUTH_PER_MINUTE), remaining: '0' });
    expect(problem.detail).toEqual(expect.any(String));
    // Every auth route shares the budget.
    expectProblem(await c4.request('POST', '/auth/refresh', { headers, body: { refresh_token: answers[0].body.refresh_token } }), 429, 'rate-limited');
  });

  it('gives another client address its own budget', async () => {
    const first = client();
    for (let i = 0; i <= AUTH_PER_MINUTE; i++) await login(first);
    expect((await login(first)).status).toBe(429);
    expect((await login(client())).status).toBe(200);
  });

  it('counts malformed attempts too: the limit applies before the body is read', async () => {
    const headers = client();
    for (let i = 0; i < AUTH_PER_MINUTE; i++) {
      expectProblem(
        await c4.request('POST', '/auth/token', { headers: { ...headers, 'content-type': 'application/json' }, body: '{"username":' }),
        400,
        'malformed-request',
      );
    }
    expectProblem(await login(headers), 429, 'rate-limited');
  });

  it('puts RateLimit headers on limited /v1 routes, not on operations endpoints', async () => {
    const token = (await login(client())).body.access_token;
    const res = await c4.request('GET', '/v1/conversations', { token });
    expect(res.status).toBe(200);
    expect(limitHeaders(res)).toEqual({ limit: '1200', remaining: '1199', reset: expect.any(Number) });
    const again = await c4.request('GET', '/v1/users?query=user', { token });
    expect(limitHeaders(again).remaining).toBe('1198');
    expect((await c4.request('GET', '/health')).headers['ratelimit-limit']).toBeUndefined();
  });

  describe('failed sign-ins per account', () => {
    // Every attempt from a new address (and, distributed, alternately on each API instance): only
    // the per-account count can stop them.
    const attempt = (username: string, password: string) => login(client(), password, username);

    it(`refuses an account after ${LOGIN_MAX_FAILURES} failures from any address, even the right password, with 429 and Retry-After`, async () => {
      for (let i = 0; i < LOGIN_MAX_FAILURES; i++) expectProblem(await attempt('user2', `wrong-${i}`), 401, 'invalid-credentials');
      const refused = await attempt('user2', 'password123');
      const problem = expectProblem(refused, 429, 'too-many-login-failures');
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      expect(problem.retry_after).toBe(retryAfter);
      // Other spellings of the name and the client_credentials grant count for the same account.
      expectProblem(await attempt('USER2', 'password123'), 429, 'too-many-login-failures');
      expectProblem(
        await c4.request('POST', '/auth/token', {
          headers: client(),
          body: { grant_type: 'client_credentials', client_id: 'user2', client_secret: 'password123' },
        }),
        429,
        'too-many-login-failures',
      );
      // Other accounts are not affected.
      expect((await attempt('user3', 'password123')).status).toBe(200);
    });

    it('throttles an unknown username exactly like an existing one', async () => {
      const known = [];
      const unknown = [];
      for (let i = 0; i <= LOGIN_MAX_FAILURES; i++) {
        known.push(await attempt('user4', 'wrong-password'));
        unknown.push(await attempt('nobody_here', 'wrong-password'));
      }
      const shape = (r: Reply) => ({ status: r.status, code: r.body.code, title: r.body.title, detail: r.body.detail.replace(/\d+ s\b/, 'N s') });
      expect(unknown.map(shape)).toEqual(known.map(shape));
      expect(unknown.at(-1)?.status).toBe(429);
    });

    it('does not count successful sign-ins', async () => {
      for (let i = 0; i < LOGIN_MAX_FAILURES + 2; i++) expect((await attempt('user5', 'password123')).status).toBe(200);
      for (let i = 0; i < LOGIN_MAX_FAILURES - 1; i++) expectProblem(await attempt('user5', 'wrong-password'), 401, 'invalid-credentials');
      expect((await attempt('user5', 'password123')).status).toBe(200);
    });
  });

  it('hides registration (404 registration-closed) and creates nobody when REGISTRATION=closed', async () => {
    const before = await tableCounts(c4);
    expectProblem(
      await c4.request('POST', '/auth/register', { headers: client(), body: { username: 'newcomer', password: 'password123' } }),
      404,
      'registration-closed',
    );
    expect(await tableCounts(c4)).toEqual(before);
    expectProblem(
      await c4.request('POST', '/auth/token', { headers: client(), body: { username: 'newcomer', password: 'password123' } }),
      401,
      'invalid-credentials',
    );
  });
});
