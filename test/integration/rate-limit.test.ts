import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, tableCounts, type Reply } from '../support/factories.ts';

const AUTH_PER_MINUTE = 3;

/** Production-like settings: rate limits on (auth: 3 per minute) and registration closed. */
describe.each(targetKinds())('rate limits and closed registration on %s', (kind) => {
  let c4: TestTarget;
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind, { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_AUTH_PER_MINUTE: String(AUTH_PER_MINUTE), REGISTRATION: 'closed' }));
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  // Each test is its own client address (the server trusts X-Forwarded-For), so budgets never mix.
  let address = 0;
  const client = () => ({ 'x-forwarded-for': `203.0.113.${++address}` });
  const login = (headers: Record<string, string>, password = 'password123') => c4.request('POST', '/auth/token', { headers, body: { username: 'user1', password } });
  const limitHeaders = (res: Reply) => ({
    limit: res.headers['ratelimit-limit'], remaining: res.headers['ratelimit-remaining'], reset: Number(res.headers['ratelimit-reset']),
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
      expectProblem(await c4.request('POST', '/auth/token', { headers: { ...headers, 'content-type': 'application/json' }, body: '{"username":' }), 400, 'malformed-request');
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

  it('hides registration (404 registration-closed) and creates nobody when REGISTRATION=closed', async () => {
    const before = await tableCounts(c4);
    expectProblem(await c4.request('POST', '/auth/register', { headers: client(), body: { username: 'newcomer', password: 'password123' } }), 404, 'registration-closed');
    expect(await tableCounts(c4)).toEqual(before);
    expectProblem(await c4.request('POST', '/auth/token', { headers: client(), body: { username: 'newcomer', password: 'password123' } }), 401, 'invalid-credentials');
  });
});
