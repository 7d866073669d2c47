/**
 * Apps and API keys: creation (key shown once, stored as a hash), bot users, scopes on every route
 * class over HTTP and WebSocket, rotation grace, revocation at once (on both APIs of the
 * distributed deployment: its requests alternate between them), isolation between owners, bad input.
 */
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES, type Scope } from '../../src/domain/scopes.ts';
import { loadConfig } from '../../src/config.ts';
import { routesOf } from '../../src/http/build.ts';
import { protect } from '../../src/http/routes/guard.ts';
import { startInstance, TestSocket, uuid, type TestInstance } from '../support/harness.ts';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, groupConversation, privateConversation, send, sleep, type TestUser } from '../support/factories.ts';
import { storeKinds } from '../support/stores.ts';

const GRACE_SECONDS = 2;
const KEY = /^c4a_[A-Za-z0-9_-]{43}$/;

interface CreatedApp {
  app_id: number;
  bot_user_id: number;
  bot_username: string;
  api_key: string;
  key_id: string;
}

describe.each(targetKinds())('apps and API keys on %s', (kind) => {
  let c4: TestTarget;
  let owner: TestUser;
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind, { APP_KEY_ROTATION_GRACE_SECONDS: String(GRACE_SECONDS) }));
    owner = await c4.user('owner');
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  let appCount = 0;
  const createApp = async (scopes: readonly Scope[], by: TestUser = owner): Promise<CreatedApp> => {
    const res = await c4.request('POST', '/v1/apps', { token: by.token, body: { name: `app ${++appCount}`, scopes } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const withKey = (key: string, method: string, url: string, body?: unknown) => c4.request(method, url, { token: key, body });
  const counts = async () =>
    (
      await c4.query<{ apps: number; keys: number; users: number }>(
        'SELECT (SELECT count(*)::int FROM apps) AS apps, (SELECT count(*)::int FROM app_keys) AS keys, (SELECT count(*)::int FROM users) AS users',
      )
    )[0];

  it('creates an app with a bot user and a key shown once, stored only as its SHA-256', async () => {
    const res = await c4.request('POST', '/v1/apps', { token: owner.token, body: { name: '  Helpdesk sync  ', scopes: ['messages:read', 'messages:write'] } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Helpdesk sync', scopes: ['messages:read', 'messages:write'], api_key: expect.stringMatching(KEY) });
    const created = res.body as CreatedApp;
    const [row] = await c4.query('SELECT key_hash, prefix FROM app_keys WHERE id = $1', [created.key_id]);
    expect(row.key_hash).toBe(createHash('sha256').update(created.api_key).digest('hex'));
    expect(created.api_key.startsWith(row.prefix)).toBe(true);
    expect(row.prefix.length).toBeLessThan(12);

    const list = await c4.request('GET', '/v1/apps', { token: owner.token });
    expect(list.status).toBe(200);
    const listed = list.body.items.find((a: { app_id: number }) => a.app_id === created.app_id);
    expect(listed).toMatchObject({ name: 'Helpdesk sync', bot_user_id: created.bot_user_id, keys: [{ key_id: created.key_id, expires_at: null }] });
    expect(JSON.stringify(list.body)).not.toContain(created.api_key);

    // The bot is a user like any other, flagged as a bot; the key speaks as it.
    const bot = await c4.request('GET', `/v1/users/${created.bot_user_id}`, { token: owner.token });
    expect(bot.body).toMatchObject({ user_id: created.bot_user_id, display_name: 'Helpdesk sync', is_bot: true });
    const me = await withKey(created.api_key, 'GET', '/auth/me');
    expect(me.body).toMatchObject({ user_id: created.bot_user_id, username: created.bot_username, is_bot: true });
  });

  it('accepts the key as Authorization: Bearer and as X-Api-Key; an unknown key is 401', async () => {
    const app = await createApp(['conversations:read']);
    expect((await withKey(app.api_key, 'GET', '/v1/conversations')).status).toBe(200);
    expect((await c4.request('GET', '/v1/conversations', { headers: { 'x-api-key': app.api_key } })).status).toBe(200);
    const unknown = `c4a_${'A'.repeat(43)}`;
    expectProblem(await withKey(unknown, 'GET', '/v1/conversations'), 401, 'invalid-api-key');
    expectProblem(await c4.request('GET', '/v1/conversations', { headers: { 'x-api-key': unknown } }), 401, 'invalid-api-key');
  });

  it('a bot joins conversations like a person and its messages say it is a bot', async () => {
    const app = await createApp(['messages:write', 'messages:read', 'conversations:read']);
    const peer = await c4.user('peer');
    const group = await groupConversation(c4, owner, [peer, { id: app.bot_user_id } as TestUser], 'with bot');
    const details = await withKey(app.api_key, 'GET', `/v1/conversations/${group}`);
    expect(details.body.members.find((m: { user_id: number }) => m.user_id === app.bot_user_id)).toMatchObject({ is_bot: true });
    expect(details.body.members.find((m: { user_id: number }) => m.user_id === peer.id)).toMatchObject({ is_bot: false });
    const sent = await send(c4, app.api_key, group, 'beep');
    const mine = await send(c4, peer.token, group, 'hello bot');
    const history = await c4.request('GET', `/v1/conversations/${group}/messages`, { token: peer.token });
    const byId = Object.fromEntries(history.body.messages.map((m: { message_id: string }) => [m.message_id, m]));
    expect(byId[sent.message_id]).toMatchObject({ sender_id: app.bot_user_id, sender_username: app.bot_username, sender_is_bot: true });
    expect(byId[mine.message_id]).toMatchObject({ sender_id: peer.id, sender_is_bot: false });
  });

  describe('scopes over HTTP: each allows its routes and its absence refuses them', () => {
    let group: number;
    let apps: Record<string, { only: CreatedApp; without: CreatedApp }>;
    const routeOf: Partial<Record<Scope, { method: string; url: () => string; body?: () => unknown; allowed: number }>> = {
      'messages:write': {
        method: 'POST',
        url: () => '/v1/messages',
        body: () => ({ message_id: uuid(), conversation_id: group, payload: { type: 'text', content: 'scoped' } }),
        allowed: 202,
      },
      'messages:read': { method: 'GET', url: () => `/v1/conversations/${group}/messages`, allowed: 200 },
      'conversations:read': { method: 'GET', url: () => '/v1/conversations', allowed: 200 },
      'conversations:write': { method: 'PATCH', url: () => `/v1/conversations/${group}`, body: () => ({ description: 'set by a bot' }), allowed: 200 },
      'files:write': {
        method: 'POST',
        url: () => '/v1/files/initiate',
        body: () => ({ filename: 'a.txt', file_size: 10, conversation_id: group }),
        allowed: 201,
      },
      // An unknown file: the scope check passed and the handler answered.
      'files:read': { method: 'GET', url: () => `/v1/files/${uuid()}`, allowed: 404 },
      'contacts:read': { method: 'GET', url: () => '/v1/contacts', allowed: 200 },
      // webhooks:manage guards the outbound webhook routes (docs/integrations.md), added with them.
    };
    beforeAll(async () => {
      apps = {};
      for (const scope of Object.keys(routeOf) as Scope[]) {
        apps[scope] = { only: await createApp([scope]), without: await createApp(SCOPES.filter((s) => s !== scope)) };
      }
      const bots = Object.values(apps).flatMap((a) => [a.only, a.without]);
      group = await groupConversation(
        c4,
        owner,
        bots.map((b) => ({ id: b.bot_user_id }) as TestUser),
        'scoped',
      );
      // Admins may change the group (conversations:write's route).
      for (const b of bots) {
        const res = await c4.request('PATCH', `/v1/conversations/${group}/members/${b.bot_user_id}`, { token: owner.token, body: { role: 'admin' } });
        expect(res.status).toBe(200);
      }
    }, 60_000);

    // webhooks:manage has no route in this module: the outbound webhook routes declare it and test it.
    for (const [scope, route] of Object.entries(routeOf) as [Scope, NonNullable<(typeof routeOf)[Scope]>][]) {
      it(`${scope}`, async () => {
        const allowed = await withKey(apps[scope].only.api_key, route.method, route.url(), route.body?.());
        expect(allowed.status, JSON.stringify(allowed.body)).toBe(route.allowed);
        const refused = expectProblem(await withKey(apps[scope].without.api_key, route.method, route.url(), route.body?.()), 403, 'insufficient-scope');
        expect(refused.scope).toBe(scope);
        expect(refused.detail).toContain(scope);
      });
    }

    it('names the missing scope in WWW-Authenticate (RFC 6750)', async () => {
      const res = await withKey(apps['contacts:read'].without.api_key, 'GET', '/v1/contacts');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="chat4all", error="insufficient_scope", scope="contacts:read"');
    });

    it("a person's token has every scope", async () => {
      for (const [scope, route] of Object.entries(routeOf)) {
        const res = await c4.request(route.method, route.url(), { token: owner.token, body: route.body?.() });
        expect(res.status, scope).toBe(route.allowed);
      }
    });
  });

  describe('scopes over WebSocket', () => {
    let group: number;
    let reader: CreatedApp;
    let full: CreatedApp;
    let notReader: CreatedApp;
    const sockets: TestSocket[] = [];
    const open = async (url: string, headers?: Record<string, string>) => {
      const socket = await TestSocket.connect(url, headers);
      sockets.push(socket);
      return socket;
    };
    beforeAll(async () => {
      reader = await createApp(['messages:read']);
      full = await createApp(['messages:read', 'conversations:read']);
      notReader = await createApp(SCOPES.filter((s) => s !== 'messages:read'));
      group = await groupConversation(
        c4,
        owner,
        [reader, full].map((a) => ({ id: a.bot_user_id }) as TestUser),
        'ws scoped',
      );
    });
    afterAll(() => sockets.forEach((s) => s.close()));

    it('opening needs messages:read: without it the socket closes with 4003', async () => {
      const socket = await open(c4.wsUrl(notReader.api_key));
      expect(await socket.closed()).toBe(4003);
      expect(socket.ofType('connected')).toEqual([]);
    });

    it('a key with messages:read connects (also by X-Api-Key), hears messages, acks and syncs, but may not subscribe', async () => {
      const socket = await open(c4.wsUrl(reader.api_key));
      expect(await socket.next((f) => f.type === 'connected')).toMatchObject({ user_id: reader.bot_user_id });
      const byHeader = await open(c4.wsUrl('x').replace(/\?.*$/, ''), { 'x-api-key': reader.api_key });
      await byHeader.next((f) => f.type === 'connected');

      const sent = await send(c4, owner.token, group, 'to the bots');
      expect(await socket.next((f) => f.type === 'message.created' && f.message_id === sent.message_id)).toMatchObject({ sender_is_bot: false });
      socket.send({ action: 'ack', conversation_id: group, seq: sent.seq });
      socket.send({ action: 'sync', since: { [group]: 0 } });
      expect((await socket.next((f) => f.type === 'synced')).conversations).toEqual({ [group]: sent.seq });
      socket.send({ action: 'subscribe', conversation_id: group });
      expect(await socket.next((f) => f.type === 'error')).toMatchObject({ code: 'insufficient-scope', scope: 'conversations:read' });
      expect(socket.ofType('error')).toHaveLength(1); // the ack was accepted
    });

    it('a key with conversations:read may subscribe', async () => {
      const socket = await open(c4.wsUrl(full.api_key));
      await socket.next((f) => f.type === 'connected');
      socket.send({ action: 'subscribe', conversation_id: group });
      expect(await socket.next((f) => f.type === 'subscribed')).toMatchObject({ conversation_id: group });
      expect(socket.ofType('error')).toEqual([]);
    });
  });

  it('a key reads only its own conversations, not those of its owner or of other people', async () => {
    const app = await createApp([...SCOPES]);
    const [bob, carol] = [await c4.user('bob'), await c4.user('carol')];
    const theirs = await privateConversation(c4, bob, carol);
    const ownersOwn = await privateConversation(c4, owner, bob);
    await send(c4, bob.token, theirs, 'private words');
    for (const id of [theirs, ownersOwn]) {
      expect([403, 404]).toContain((await withKey(app.api_key, 'GET', `/v1/conversations/${id}`)).status);
      expect([403, 404]).toContain((await withKey(app.api_key, 'GET', `/v1/conversations/${id}/messages`)).status);
      const write = await withKey(app.api_key, 'POST', '/v1/messages', { message_id: uuid(), conversation_id: id, payload: { type: 'text', content: 'x' } });
      expect([403, 404]).toContain(write.status);
    }
    const list = await withKey(app.api_key, 'GET', '/v1/conversations');
    expect(list.body.items.map((c: { conversation_id: number }) => c.conversation_id)).not.toEqual(expect.arrayContaining([theirs]));
    expect(list.body.items.map((c: { conversation_id: number }) => c.conversation_id)).not.toEqual(expect.arrayContaining([ownersOwn]));
    // Nor manage another owner's app.
    const bobsApp = await createApp(['conversations:read'], bob);
    expectProblem(await c4.request('POST', `/v1/apps/${bobsApp.app_id}/keys`, { token: owner.token }), 404, 'app-not-found');
    expectProblem(await c4.request('DELETE', `/v1/apps/${bobsApp.app_id}`, { token: owner.token }), 404, 'app-not-found');
    expect((await withKey(bobsApp.api_key, 'GET', '/v1/conversations')).status).toBe(200);
  });

  it('an app cannot manage apps, whatever its scopes', async () => {
    const app = await createApp([...SCOPES]);
    const before = await counts();
    expectProblem(await withKey(app.api_key, 'POST', '/v1/apps', { name: 'child', scopes: [] }), 403, 'user-token-required');
    expectProblem(await withKey(app.api_key, 'GET', '/v1/apps'), 403, 'user-token-required');
    expectProblem(await withKey(app.api_key, 'POST', `/v1/apps/${app.app_id}/keys`), 403, 'user-token-required');
    expectProblem(await withKey(app.api_key, 'DELETE', `/v1/apps/${app.app_id}`), 403, 'user-token-required');
    expect(await counts()).toEqual(before);
    expect((await withKey(app.api_key, 'GET', '/v1/conversations')).status).toBe(200);
  });

  it('deleting an app refuses its keys at once, on every API instance', async () => {
    const app = await createApp(['conversations:read']);
    // Used (and cached) on both APIs of the distributed deployment first.
    for (let i = 0; i < 4; i++) expect((await withKey(app.api_key, 'GET', '/v1/conversations')).status).toBe(200);
    expect((await c4.request('DELETE', `/v1/apps/${app.app_id}`, { token: owner.token })).status).toBe(204);
    for (let i = 0; i < 4; i++) expect((await withKey(app.api_key, 'GET', '/v1/conversations')).status).toBe(401);
    const list = await c4.request('GET', '/v1/apps', { token: owner.token });
    expect(list.body.items.map((a: { app_id: number }) => a.app_id)).not.toContain(app.app_id);
    // Its bot stays, so that its messages keep their sender.
    expect((await c4.request('GET', `/v1/users/${app.bot_user_id}`, { token: owner.token })).body).toMatchObject({ is_bot: true });
  });

  it('revoking one key refuses it at once on every instance; the app and its other keys live on', async () => {
    const app = await createApp(['conversations:read']);
    const rotated = await c4.request('POST', `/v1/apps/${app.app_id}/keys`, { token: owner.token });
    for (let i = 0; i < 4; i++) expect((await withKey(rotated.body.api_key, 'GET', '/v1/conversations')).status).toBe(200);
    const res = await c4.request('DELETE', `/v1/apps/${app.app_id}/keys/${rotated.body.key_id}`, { token: owner.token });
    expect(res.status).toBe(204);
    for (let i = 0; i < 4; i++) expect((await withKey(rotated.body.api_key, 'GET', '/v1/conversations')).status).toBe(401);
    expect((await withKey(app.api_key, 'GET', '/v1/conversations')).status).toBe(200);
    expectProblem(await c4.request('DELETE', `/v1/apps/${app.app_id}/keys/${rotated.body.key_id}`, { token: owner.token }), 404, 'app-key-not-found');
  });

  it('rotation: the new key works at once, the old one for the grace period only', async () => {
    const app = await createApp(['conversations:read']);
    const res = await c4.request('POST', `/v1/apps/${app.app_id}/keys`, { token: owner.token });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ api_key: expect.stringMatching(KEY), grace_seconds: GRACE_SECONDS });
    expect(res.body.api_key).not.toBe(app.api_key);
    const ends = Date.parse(res.body.previous_keys_expire_at);
    expect(ends - Date.now()).toBeGreaterThan(0);
    expect(ends - Date.now()).toBeLessThanOrEqual(GRACE_SECONDS * 1000 + 1000);
    const listed = (await c4.request('GET', '/v1/apps', { token: owner.token })).body.items.find((a: { app_id: number }) => a.app_id === app.app_id);
    expect(listed.keys).toEqual([
      expect.objectContaining({ key_id: app.key_id, expires_at: res.body.previous_keys_expire_at }),
      expect.objectContaining({ key_id: res.body.key_id, expires_at: null }),
    ]);
    expect((await withKey(app.api_key, 'GET', '/v1/conversations')).status).toBe(200);
    expect((await withKey(res.body.api_key, 'GET', '/v1/conversations')).status).toBe(200);
    await sleep(Math.max(0, ends - Date.now()) + 300);
    for (let i = 0; i < 2; i++) expectProblem(await withKey(app.api_key, 'GET', '/v1/conversations'), 401, 'invalid-api-key');
    expect((await withKey(res.body.api_key, 'GET', '/v1/conversations')).status).toBe(200);
  });

  it('bad input is 400 (a taken name 409) and stores nothing', async () => {
    await createApp(['messages:read']);
    const taken = `app ${appCount}`;
    const before = await counts();
    const bad: [unknown, string][] = [
      [{ name: 'x', scopes: ['messages:delete'] }, 'validation-failed'],
      [{ name: '', scopes: [] }, 'validation-failed'],
      [{ name: '   ', scopes: [] }, 'validation-failed'],
      [{ name: 'x'.repeat(101), scopes: [] }, 'validation-failed'],
      [{ name: 'x', scopes: ['messages:read', 'messages:read'] }, 'validation-failed'],
      [{ name: 'x', scopes: 'messages:read' }, 'validation-failed'],
      [{ name: 'x' }, 'validation-failed'],
      [{ name: 'bad\u202Ename', scopes: [] }, 'invalid-text'],
    ];
    for (const [body, code] of bad) expectProblem(await c4.request('POST', '/v1/apps', { token: owner.token, body }), 400, code);
    expectProblem(await c4.request('POST', '/v1/apps', { token: owner.token, body: { name: taken.toUpperCase(), scopes: [] } }), 409, 'app-name-taken');
    expectProblem(await c4.request('POST', '/v1/apps/0/keys', { token: owner.token }), 400, 'validation-failed');
    expectProblem(await c4.request('POST', '/v1/apps/999999999/keys', { token: owner.token }), 404, 'app-not-found');
    expectProblem(await c4.request('DELETE', '/v1/apps/1/keys/not-a-uuid', { token: owner.token }), 400, 'validation-failed');
    expect(await counts()).toEqual(before);
  });
});

describe.each(storeKinds().slice(0, 1))('scope declarations and per-app rate limits (%s)', (kind) => {
  let c4: TestInstance;
  beforeAll(async () => {
    c4 = await startInstance(kind, { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_READ_PER_MINUTE: '3' });
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  it('every authenticated route declares a scope, and a key with no scope is refused on all but /auth/me', async () => {
    const owner = await c4.user('decl');
    const created = await c4.request('POST', '/v1/apps', { token: owner.token, body: { name: 'no scopes', scopes: [] } });
    const key = created.body.api_key as string;
    const routes = routesOf(c4.server).filter((r) => !r.isWebSocket);
    expect(routes.length).toBeGreaterThan(30);
    let authenticated = 0;
    for (const route of routes) {
      const url = route.url.replace(/:(\w+)/g, '1');
      const anonymous = await c4.request(route.method, url);
      if (anonymous.status !== 401) continue;
      authenticated++;
      const where = `${route.method} ${route.url}`;
      expect(route.scope, `${where} needs a token but declares no scope`).toBeTruthy();
      const res = await c4.request(route.method, url, { token: key });
      if (route.scope === 'authenticated') {
        expect(res.status, where).toBe(200);
        continue;
      }
      expect(res.status, where).toBe(403);
      if (route.method !== 'HEAD') expect(res.body.code, where).toBe(route.scope === 'user' ? 'user-token-required' : 'insufficient-scope');
    }
    expect(authenticated).toBeGreaterThan(25);
  });

  it('a route without a scope declaration in a protected plugin stops the server from starting', async () => {
    const server = Fastify();
    const starting = async () => {
      await server.register(async (child) => {
        protect(child, c4.app, loadConfig({ ...c4.env }));
        child.get('/v1/forgotten', { config: { rateClass: 'read' } }, async () => ({}));
      });
      await server.ready();
    };
    await expect(starting()).rejects.toThrow('GET /v1/forgotten needs authentication but declares no scope');
    await server.close().catch(() => undefined);
  });

  it('rate limits count per app: one app running out leaves its owner and other apps alone', async () => {
    const owner = await c4.user('limits');
    const make = async (name: string) =>
      (await c4.request('POST', '/v1/apps', { token: owner.token, body: { name, scopes: ['conversations:read'] } })).body.api_key as string;
    const [first, second] = [await make('first'), await make('second')];
    for (let i = 0; i < 3; i++) expect((await c4.request('GET', '/v1/conversations', { token: first })).status).toBe(200);
    expectProblem(await c4.request('GET', '/v1/conversations', { token: first }), 429, 'rate-limited');
    expect((await c4.request('GET', '/v1/conversations', { token: second })).status).toBe(200);
    expect((await c4.request('GET', '/v1/conversations', { token: owner.token })).status).toBe(200);
  });
});
