import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, signAccessToken, signingKey, tableCounts } from '../support/factories.ts';
import { eventually } from '../support/harness.ts';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

describe.each(targetKinds())('auth and users contract on %s', (kind) => {
  let c4: TestTarget;
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind));
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  const register = (body: unknown) => c4.request('POST', '/auth/register', { body });
  const token = (body: unknown) => c4.request('POST', '/auth/token', { body });
  const me = (t: string) => c4.request('GET', '/auth/me', { token: t });

  describe('register', () => {
    it('creates an account with 201 and the public user shape', async () => {
      const res = await register({ username: 'reg_alice', password: 'password123', display_name: 'Alice A.' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        user_id: expect.any(Number),
        username: 'reg_alice',
        display_name: 'Alice A.',
        created_at: expect.stringMatching(/Z$/),
        is_bot: false,
      });
      expect(res.body).not.toHaveProperty('password_hash');
    });

    it('defaults the display name to the username', async () => {
      const res = await register({ username: 'reg_nodisplay', password: 'password123' });
      expect(res.body.display_name).toBe('reg_nodisplay');
    });

    it('answers 409 username-taken for a taken name', async () => {
      await register({ username: 'reg_taken', password: 'password123' });
      expectProblem(await register({ username: 'reg_taken', password: 'other-password' }), 409, 'username-taken');
    });

    it.each([
      ['too short', 'ab'],
      ['too long', 'x'.repeat(33)],
      ['with a space', 'has space'],
      ['with a slash', 'a/b/c'],
      ['with a wildcard', 'abc%'],
    ])('rejects a username %s with 400 validation-failed', async (_why, username) => {
      const res = expectProblem(await register({ username, password: 'password123' }), 400, 'validation-failed');
      expect(res.errors).toEqual([expect.objectContaining({ path: '/username' })]);
    });

    it('treats usernames that differ only in case as one name: 409 username-taken, and any case signs in', async () => {
      expect((await register({ username: 'Case_User', password: 'password123' })).status).toBe(201);
      for (const twin of ['case_user', 'CASE_USER', 'cASE_uSER'])
        expectProblem(await register({ username: twin, password: 'password123' }), 409, 'username-taken');
      expect((await c4.query('SELECT count(*)::int AS n FROM users WHERE lower(username) = $1', ['case_user']))[0].n).toBe(1);
      const res = await token({ username: 'CASE_user', password: 'password123' });
      expect(res.status).toBe(200);
      expect((await me(res.body.access_token)).body.username).toBe('Case_User');
    });

    it.each([
      ['right-to-left override', 'admin\u202e'],
      ['left-to-right embedding', '\u202aBob'],
      ['pop directional formatting', 'Bob\u202c'],
      ['first strong isolate', 'x\u2068y'],
      ['right-to-left mark', 'Eve\u200f'],
      ['arabic letter mark', 'Eve\u061c'],
    ])('refuses a display name with a bidi control (%s) with 400 invalid-text naming the field, creating nobody', async (_why, displayName) => {
      const before = await tableCounts(c4);
      const res = expectProblem(await register({ username: `bidi_${before.users}`, password: 'password123', display_name: displayName }), 400, 'invalid-text');
      expect(res.errors).toEqual([expect.objectContaining({ path: '/display_name' })]);
      expect(await tableCounts(c4)).toEqual(before);
    });

    it('keeps display names in any script', async () => {
      const res = await register({ username: 'reg_script', password: 'password123', display_name: 'محمد · Zoë · 李雷' });
      expect(res.status).toBe(201);
      expect(res.body.display_name).toBe('محمد · Zoë · 李雷');
    });

    it('rejects a password shorter than 8 characters', async () => {
      const res = expectProblem(await register({ username: 'reg_shortpw', password: 'short12' }), 400, 'validation-failed');
      expect(res.errors).toEqual([expect.objectContaining({ path: '/password' })]);
      expectProblem(await token({ username: 'reg_shortpw', password: 'short12' }), 401, 'invalid-credentials');
    });
  });

  describe('token grants', () => {
    it('issues a token pair for the password grant (the default) in JSON', async () => {
      const res = await token({ username: 'user1', password: 'password123' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.any(String),
        scope: expect.any(String),
      });
      expect((await me(res.body.access_token)).body).toMatchObject({ username: 'user1', display_name: 'User 1' });
    });

    it('accepts x-www-form-urlencoded with grant_type=password', async () => {
      const res = await c4.request('POST', '/auth/token', form({ grant_type: 'password', username: 'user2', password: 'password123' }));
      expect(res.status).toBe(200);
      expect((await me(res.body.access_token)).body.username).toBe('user2');
    });

    it('accepts client_credentials with the same credentials, JSON and form', async () => {
      const json = await token({ grant_type: 'client_credentials', client_id: 'user3', client_secret: 'password123' });
      expect(json.status).toBe(200);
      const encoded = await c4.request('POST', '/auth/token', form({ grant_type: 'client_credentials', client_id: 'user3', client_secret: 'password123' }));
      expect(encoded.status).toBe(200);
      expectProblem(await token({ grant_type: 'client_credentials', client_id: 'user3', client_secret: 'wrong-secret' }), 401, 'invalid-credentials');
    });

    it('gives the same 401 invalid-credentials for an unknown user and a wrong password', async () => {
      const unknown = expectProblem(await token({ username: 'nobody_here', password: 'password123' }), 401, 'invalid-credentials');
      const wrong = expectProblem(await token({ username: 'user1', password: 'wrong-password' }), 401, 'invalid-credentials');
      expect(wrong.detail).toBe(unknown.detail);
      expect(wrong.title).toBe(unknown.title);
    });

    it('rejects a grant without its credentials and an unknown grant type', async () => {
      expectProblem(await token({ grant_type: 'password', username: 'user1' }), 400, 'validation-failed');
      expectProblem(await token({ grant_type: 'client_credentials', client_id: 'user1' }), 400, 'validation-failed');
      expectProblem(await token({ grant_type: 'refresh_token' }), 400, 'validation-failed');
      expectProblem(await token({ grant_type: 'authorization_code', code: 'x' }), 400, 'validation-failed');
    });
  });

  describe('refresh rotation', () => {
    it('rotates on refresh_token grant and /auth/refresh; reuse revokes the whole family', async () => {
      const first = (await token({ username: 'user4', password: 'password123' })).body;
      const second = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
      expect(second.status).toBe(200);
      expect(second.body.refresh_token).not.toBe(first.refresh_token);
      expect((await me(second.body.access_token)).status).toBe(200);

      const third = await c4.request('POST', '/auth/refresh', { body: { refresh_token: second.body.refresh_token } });
      expect(third.status).toBe(200);
      expect(third.body.refresh_token).not.toBe(second.body.refresh_token);

      // An attacker replays a rotated token: refused, and the legitimate newest token dies with it.
      expectProblem(await c4.request('POST', '/auth/refresh', { body: { refresh_token: first.refresh_token } }), 401, 'refresh-token-reused');
      expectProblem(await c4.request('POST', '/auth/refresh', { body: { refresh_token: third.body.refresh_token } }), 401, 'invalid-refresh-token');
    });

    it('refuses every access token of a family revoked by reuse, at once, on every instance', async () => {
      const u = await c4.user('family');
      const first = (await token({ username: u.username, password: 'password123' })).body;
      const second = (await c4.request('POST', '/auth/refresh', { body: { refresh_token: first.refresh_token } })).body;
      for (const t of [first.access_token, second.access_token]) expect((await me(t)).status).toBe(200);

      expectProblem(await c4.request('POST', '/auth/refresh', { body: { refresh_token: first.refresh_token } }), 401, 'refresh-token-reused');
      // Twice each: the distributed target alternates between its API instances.
      for (const t of [first.access_token, second.access_token, first.access_token, second.access_token]) {
        expectProblem(await me(t), 401, 'token-revoked');
        expectProblem(await c4.request('GET', '/v1/conversations', { token: t }), 401, 'token-revoked');
      }
      // Another sign-in of the same user is another family: it keeps working.
      expect((await me(u.token)).status).toBe(200);
      expect((await me(u.token)).status).toBe(200);
    });

    it('refuses an unknown refresh token with 401', async () => {
      expectProblem(await token({ grant_type: 'refresh_token', refresh_token: 'not-a-real-token' }), 401, 'invalid-refresh-token');
    });
  });

  describe('revoke', () => {
    it('answers 200 for unknown tokens (RFC 7009)', async () => {
      const res = await c4.request('POST', '/auth/revoke', { body: { token: 'never-issued' } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ message: expect.any(String) });
    });

    it('revokes a refresh token so that it no longer refreshes', async () => {
      const pair = (await token({ username: 'user5', password: 'password123' })).body;
      expect((await c4.request('POST', '/auth/revoke', { body: { token: pair.refresh_token, token_type_hint: 'refresh_token' } })).status).toBe(200);
      expectProblem(await c4.request('POST', '/auth/refresh', { body: { refresh_token: pair.refresh_token } }), 401, 'invalid-refresh-token');
    });

    it('revoking a refresh token signs its session out: its access tokens are refused at once (RFC 7009 §2.1)', async () => {
      const u = await c4.user('logout');
      const pair = (await token({ username: u.username, password: 'password123' })).body;
      expect((await me(pair.access_token)).status).toBe(200);
      expect((await c4.request('POST', '/auth/revoke', { body: { token: pair.refresh_token } })).status).toBe(200);
      expectProblem(await me(pair.access_token), 401, 'token-revoked');
      expectProblem(await me(pair.access_token), 401, 'token-revoked');
      expect((await me(u.token)).status).toBe(200);
    });

    it('revokes an access token at once, on every instance', async () => {
      const u = await c4.user('revoker');
      expect((await me(u.token)).status).toBe(200);
      expect((await c4.request('POST', '/auth/revoke', { body: { token: u.token, token_type_hint: 'access_token' } })).status).toBe(200);
      expectProblem(await me(u.token), 401, 'token-revoked');
      expectProblem(await c4.request('GET', '/v1/conversations', { token: u.token }), 401, 'token-revoked');
      // A fresh login still works: revocation is per token, not per user.
      expect((await me(await c4.login(u.username))).status).toBe(200);
    });
  });

  describe('users directory', () => {
    it('searches by username prefix, case-insensitively, with % and _ taken literally', async () => {
      const viewer = await c4.user('viewer');
      for (const name of ['Dir_Alpha', 'dir_alpha2', 'dir_beta', 'dirXalpha']) await register({ username: name, password: 'password123' });
      const search = async (query: string, limit?: number) => {
        const qs = new URLSearchParams({ query, ...(limit ? { limit: String(limit) } : {}) });
        const res = await c4.request('GET', `/v1/users?${qs}`, { token: viewer.token });
        expect(res.status).toBe(200);
        return (res.body.items as { username: string }[]).map((i) => i.username).sort();
      };
      expect(await search('DIR_')).toEqual(['Dir_Alpha', 'dir_alpha2', 'dir_beta']);
      expect(await search('dir_alpha')).toEqual(['Dir_Alpha', 'dir_alpha2']);
      expect(await search('dir%')).toEqual([]);
      expect(await search('%')).toEqual([]);
      expect(await search('d_r')).toEqual([]);
      expect(await search('DIR', 2)).toHaveLength(2);
      const one = await c4.request('GET', '/v1/users?query=dir_beta', { token: viewer.token });
      expect(one.body.items).toEqual([{ user_id: expect.any(Number), username: 'dir_beta', display_name: 'dir_beta', is_bot: false }]);
    });

    it('bounds limit to 1..100', async () => {
      const viewer = await c4.user('viewer');
      expect((await c4.request('GET', '/v1/users?limit=100', { token: viewer.token })).status).toBe(200);
      for (const limit of ['0', '101', '-1', 'ten']) {
        expectProblem(await c4.request('GET', `/v1/users?limit=${limit}`, { token: viewer.token }), 400, 'validation-failed');
      }
      expectProblem(await c4.request('GET', `/v1/users?query=${'x'.repeat(65)}`, { token: viewer.token }), 400, 'validation-failed');
    });

    it('gets one user by id, 404 user-not-found for an unknown id, 400 for a non-numeric id', async () => {
      const viewer = await c4.user('viewer');
      const res = await c4.request('GET', `/v1/users/${viewer.id}`, { token: viewer.token });
      expect(res.body).toEqual({
        user_id: viewer.id,
        username: viewer.username,
        display_name: viewer.username,
        created_at: expect.stringMatching(/Z$/),
        is_bot: false,
      });
      expectProblem(await c4.request('GET', '/v1/users/987654321', { token: viewer.token }), 404, 'user-not-found');
      for (const bad of ['abc', '0', '1.5', '-3', '99999999999999999999']) {
        expectProblem(await c4.request('GET', `/v1/users/${bad}`, { token: viewer.token }), 400, 'validation-failed');
      }
      expectProblem(await c4.request('GET', `/v1/users/${viewer.id}`), 401, 'missing-token');
    });
  });

  describe('access tokens', () => {
    it('/auth/me returns the caller', async () => {
      const u = await c4.user('me');
      const res = await me(u.token);
      expect(res.body).toEqual({ user_id: u.id, username: u.username, display_name: u.username, created_at: expect.stringMatching(/Z$/), is_bot: false });
    });

    it('accepts a token signed with the instance key (so the rejections below are about the token, not the key)', async () => {
      const u = await c4.user('signed');
      expect((await me(await signAccessToken(await signingKey(c4), u))).status).toBe(200);
    });

    it('refuses the tokens of a user deleted from the database with 401 user-gone; a write racing the deletion is 409 reference-gone, never 500', async () => {
      const u = await c4.user('deleted');
      const signed = await signAccessToken(await signingKey(c4), u);
      expect((await me(u.token)).status).toBe(200);
      expect((await me(signed)).status).toBe(200);
      await c4.query('DELETE FROM users WHERE id = $1', [u.id]);
      const initiate = (t: string) => c4.request('POST', '/v1/files/initiate', { token: t, body: { filename: 'a.txt', file_size: 10 } });
      // Within the reload interval (5 s) a token may still pass; the write then finds its user gone.
      const racing = await initiate(u.token);
      if (kind === 'distributed') expect(['reference-gone', 'user-gone']).toContain(racing.body.code);
      else expectProblem(racing, 409, 'reference-gone');
      // Two requests in a row: on the distributed target, one on each API instance.
      const conversations = async (t: string) => (await c4.request('GET', '/v1/conversations', { token: t })).body?.code;
      const refusedTwice = async (t: string) => (await conversations(t)) === 'user-gone' && (await conversations(t)) === 'user-gone';
      await eventually(() => refusedTwice(u.token), 12_000, 200);
      expectProblem(await initiate(u.token), 401, 'user-gone');
      expectProblem(await initiate(signed), 401, 'user-gone');
      expectProblem(await c4.request('GET', '/v1/conversations', { token: signed }), 401, 'user-gone');
    });

    it('answers 401 missing-token without a token or with a malformed header', async () => {
      expectProblem(await c4.request('GET', '/auth/me'), 401, 'missing-token');
      for (const authorization of ['Basic dXNlcjE6cGFzc3dvcmQxMjM=', 'Bearer', 'Bearer a b', 'token abc']) {
        expectProblem(await c4.request('GET', '/auth/me', { headers: { authorization } }), 401, 'missing-token');
      }
    });

    it('answers 401 token-expired for an expired token', async () => {
      const u = await c4.user('expired');
      const now = Math.floor(Date.now() / 1000);
      const expired = await signAccessToken(await signingKey(c4), u, { issuedAt: now - 3600, expiresAt: now - 60 });
      expectProblem(await me(expired), 401, 'token-expired');
    });

    it('answers 401 invalid-token for a forged signature, alg:none, a wrong type claim and garbage', async () => {
      const u = await c4.user('forged');
      const key = await signingKey(c4);
      const forged = await signAccessToken(new TextEncoder().encode('not-the-server-secret-0123456789'), u);
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: String(u.id), user_id: u.id, username: u.username, type: 'access', jti: 'x', iat: now, exp: now + 600 })}.`;
      const refreshType = await signAccessToken(key, u, { claims: { type: 'refresh' } });
      const noUserId = await signAccessToken(key, u, { claims: { user_id: String(u.id) } });
      const valid = await signAccessToken(key, u);
      const tampered = valid.replace(/\.([^.]+)\./, (_m, p: string) => `.${b64({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), user_id: 1 })}.`);
      for (const t of [forged, unsigned, refreshType, noUserId, tampered, 'not.a.jwt', 'garbage']) {
        expectProblem(await me(t), 401, 'invalid-token');
      }
    });
  });
});
