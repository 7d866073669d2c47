/**
 * Web Push end to end: subscriptions over HTTP, the `push` pipeline stage, and a fake push service
 * on loopback that verifies the VAPID JWT and decrypts every payload (test/fakes/push-service.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createECDH } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { eventually, startInstance, type TestInstance, type TestSocket } from '../support/harness.ts';
import { checkingProblems, expectProblem, groupConversation, liveSocket, privateConversation, send, sleep, type TestUser } from '../support/factories.ts';
import { storeKinds } from '../support/stores.ts';
import { FakePushService, type FakeSubscription } from '../fakes/push-service.ts';

describe.each(storeKinds())('Web Push notifications on %s', (kind) => {
  let c4: TestInstance;
  let vapidKey: string | undefined;
  const fake = new FakePushService(() => vapidKey);
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    await fake.start();
    // PGlite: the development default (a key pair generated into DATA_DIR); PostgreSQL: keys from the environment.
    const env: Record<string, string> = { PUSH_ALLOW_LOOPBACK_HTTP: 'true' };
    if (kind === 'postgres') {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      Object.assign(env, {
        VAPID_PUBLIC_KEY: ecdh.getPublicKey().toString('base64url'),
        VAPID_PRIVATE_KEY: ecdh.getPrivateKey().toString('base64url'),
        VAPID_SUBJECT: 'mailto:ops@chat4all.test',
      });
    }
    c4 = checkingProblems(await startInstance(kind, env));
    const admin = await c4.user('k');
    const res = await c4.request('GET', '/v1/push/vapid-public-key', { token: admin.token });
    expect(res.status).toBe(200);
    vapidKey = res.body.public_key;
    if (kind === 'postgres') expect(vapidKey).toBe(env.VAPID_PUBLIC_KEY);
    else expect(JSON.parse(await readFile(path.join(c4.env.DATA_DIR, 'vapid.json'), 'utf8')).publicKey).toBe(vapidKey);
  }, 120_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await c4?.close();
    await fake.stop();
  }, 60_000);

  const subscribe = async (u: TestUser): Promise<FakeSubscription> => {
    const sub = fake.subscribe();
    const res = await c4.request('POST', '/v1/push/subscriptions', { token: u.token, body: sub.json });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return sub;
  };
  const online = async (u: TestUser) => {
    const socket = await liveSocket(c4.wsUrl(u.token));
    sockets.push(socket);
    await socket.next((f) => f.type === 'connected');
    return socket;
  };
  const arrived = (sub: FakeSubscription, seq: number) => eventually(() => fake.deliveriesTo(sub).find((d) => d.message.seq === seq), 15_000);
  const subscriptionsOf = async (u: TestUser) => (await c4.query('SELECT endpoint FROM push_subscriptions WHERE user_id = $1', [u.id])).map((r) => r.endpoint);

  it('notifies a subscribed member without a socket, never the sender: a small encrypted preview, signed for the push service', async () => {
    const [alice, bob] = [await c4.user('alice'), await c4.user('bob')];
    const [aliceSub, bobSub] = [await subscribe(alice), await subscribe(bob)];
    const id = await privateConversation(c4, alice, bob);
    const long = `hello bob ${'x'.repeat(300)}`;
    const sent = await send(c4, alice.token, id, long);

    const delivery = await arrived(bobSub, sent.seq);
    expect(delivery.message).toEqual({
      type: 'message',
      conversation_id: id,
      message_id: sent.message_id,
      seq: sent.seq,
      sender_name: alice.username,
      conversation_name: null,
      preview: long.slice(0, 80),
    });
    expect(delivery.jwt.claims).toMatchObject({ aud: fake.origin, sub: kind === 'postgres' ? 'mailto:ops@chat4all.test' : expect.stringMatching(/^mailto:/) });
    expect(delivery.headers).toMatchObject({ ttl: '86400', topic: `c${id}`, urgency: 'normal' });
    expect(fake.refusals).toEqual([]);
    await sleep(300);
    expect(fake.deliveriesTo(aliceSub)).toEqual([]);
  });

  it('does not notify a member with a live socket, nor one who muted the conversation until they unmute', async () => {
    const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((p) => c4.user(p)));
    const [bobSub, carolSub, daveSub] = [await subscribe(bob), await subscribe(carol), await subscribe(dave)];
    const id = await groupConversation(c4, alice, [bob, carol, dave], 'team');
    const bobSocket = await online(bob);

    const future = new Date(Date.now() + 3600_000).toISOString();
    const muted = await c4.request('PUT', `/v1/conversations/${id}/settings`, { token: carol.token, body: { muted_until: future } });
    expect(muted.status, JSON.stringify(muted.body)).toBe(200);
    expect(muted.body).toEqual({ conversation_id: id, muted_until: future });
    expect((await c4.request('GET', `/v1/conversations/${id}/settings`, { token: carol.token })).body).toEqual({ conversation_id: id, muted_until: future });
    expect((await c4.request('GET', `/v1/conversations/${id}/settings`, { token: dave.token })).body).toEqual({ conversation_id: id, muted_until: null });

    const first = await send(c4, alice.token, id, 'standup in 5');
    // Dave (offline, not muted) is notified in the same pass that decides for Bob and Carol.
    expect((await arrived(daveSub, first.seq)).message).toMatchObject({ conversation_name: 'team', sender_name: alice.username, preview: 'standup in 5' });
    await bobSocket.next((f) => f.type === 'message.created' && f.seq === first.seq);
    expect(fake.deliveriesTo(bobSub)).toEqual([]);
    expect(fake.deliveriesTo(carolSub)).toEqual([]);

    // Carol unmutes and Bob goes away: the next message reaches both.
    expect((await c4.request('PUT', `/v1/conversations/${id}/settings`, { token: carol.token, body: { muted_until: null } })).body.muted_until).toBeNull();
    bobSocket.close();
    await eventually(async () => (await c4.app.live.onlineAmong([bob.id])).size === 0);
    const second = await send(c4, alice.token, id, 'now');
    await arrived(carolSub, second.seq);
    await arrived(bobSub, second.seq);
    expect(fake.deliveriesTo(carolSub).map((d) => d.message.seq)).toEqual([second.seq]);
  });

  it('deletes a subscription the push service says is gone (410), and one the user removes', async () => {
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((p) => c4.user(p)));
    const [bobSub, carolSub] = [await subscribe(bob), await subscribe(carol)];
    const id = await groupConversation(c4, alice, [bob, carol]);
    fake.expire(bobSub);
    await send(c4, alice.token, id, 'anyone?');
    await eventually(async () => (await subscriptionsOf(bob)).length === 0);
    expect(await subscriptionsOf(carol)).toEqual([carolSub.endpoint]);

    const removed = await c4.request('DELETE', '/v1/push/subscriptions', { token: carol.token, body: { endpoint: carolSub.endpoint } });
    expect(removed.status).toBe(204);
    expect(await subscriptionsOf(carol)).toEqual([]);
    const later = await send(c4, alice.token, id, 'still there?');
    await sleep(500);
    expect(fake.deliveriesTo(carolSub).filter((d) => d.message.seq === later.seq)).toEqual([]);
  });

  it('refuses bad subscriptions with 400 and stores nothing', async () => {
    const u = await c4.user('bad');
    const { json } = fake.subscribe();
    const bad: [unknown, string][] = [
      [{ ...json, endpoint: 'http://push.example.com/x' }, 'invalid-push-subscription'],
      [{ ...json, endpoint: 'https://192.168.1.10/x' }, 'invalid-push-subscription'],
      [{ ...json, endpoint: 'javascript:alert(1)' }, 'invalid-push-subscription'],
      [{ ...json, keys: { ...json.keys, p256dh: json.keys.p256dh.slice(0, -2) } }, 'invalid-push-subscription'],
      [{ ...json, keys: { ...json.keys, auth: `${json.keys.auth}==` } }, 'invalid-push-subscription'],
      [{ ...json, keys: { ...json.keys, auth: Buffer.alloc(32).toString('base64url') } }, 'invalid-push-subscription'],
      [{ endpoint: json.endpoint }, 'validation-failed'],
      [{ ...json, endpoint: 42 }, 'validation-failed'],
      [{ ...json, endpoint: `https://push.example.com/${'x'.repeat(2100)}` }, 'validation-failed'],
    ];
    for (const [body, code] of bad) {
      const res = await c4.request('POST', '/v1/push/subscriptions', { token: u.token, body });
      expectProblem(res, 400, code);
      if (code === 'invalid-push-subscription')
        expect(res.body.errors).toEqual([{ path: expect.stringMatching(/^\/(endpoint|keys\/)/), message: expect.any(String) }]);
    }
    expect(await subscriptionsOf(u)).toEqual([]);
    expectProblem(await c4.request('POST', '/v1/push/subscriptions', { body: json }), 401, 'missing-token');
  });

  it('documents the push and settings routes in /openapi.json', async () => {
    const doc = (await c4.request('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths['/v1/push/subscriptions'])).toEqual(expect.arrayContaining(['post', 'delete']));
    expect(doc.paths['/v1/push/subscriptions'].post.responses).toHaveProperty('400');
    expect(doc.paths['/v1/push/vapid-public-key'].get.responses).toHaveProperty('503');
    expect(Object.keys(doc.paths['/v1/conversations/{id}/settings'])).toEqual(expect.arrayContaining(['get', 'put']));
  });

  it('serves the service worker at the root scope, never cached stale', async () => {
    const res = await c4.request('GET', '/sw.js');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^(text|application)\/javascript/);
    expect(res.headers).toMatchObject({ 'cache-control': 'no-cache', 'service-worker-allowed': '/' });
    expect(String(res.body)).toContain("addEventListener('push'");
  });

  it('refuses settings of a conversation the caller is not in, and a muted_until that is not a time', async () => {
    const [a, b, stranger] = await Promise.all(['a', 'b', 's'].map((p) => c4.user(p)));
    const id = await privateConversation(c4, a, b);
    expectProblem(await c4.request('GET', `/v1/conversations/${id}/settings`, { token: stranger.token }), 403, 'not-a-member');
    expectProblem(await c4.request('PUT', `/v1/conversations/${id}/settings`, { token: stranger.token, body: { muted_until: null } }), 403, 'not-a-member');
    expectProblem(await c4.request('GET', '/v1/conversations/999999999/settings', { token: a.token }), 404, 'conversation-not-found');
    expectProblem(await c4.request('PUT', `/v1/conversations/${id}/settings`, { token: a.token, body: { muted_until: 'tomorrow' } }), 400, 'validation-failed');
    expectProblem(await c4.request('PUT', `/v1/conversations/${id}/settings`, { token: a.token, body: {} }), 400, 'validation-failed');
    expect((await c4.query('SELECT muted_until FROM members WHERE conversation_id = $1', [id])).map((r) => r.muted_until)).toEqual([null, null]);
  });
});

describe('Web Push in production without VAPID keys', () => {
  it('is off: the key and subscription routes answer 503 push-disabled', async () => {
    const c4 = checkingProblems(
      await startInstance('pglite', { ENVIRONMENT: 'production', JWT_SECRET_KEY: 'a-production-secret-0123456789', DEMO_USERS: 'false' }),
    );
    try {
      const u = await c4.user('p');
      expectProblem(await c4.request('GET', '/v1/push/vapid-public-key', { token: u.token }), 503, 'push-disabled');
      const body = { endpoint: 'https://push.example.com/x', keys: { p256dh: 'x', auth: 'y' } };
      expectProblem(await c4.request('POST', '/v1/push/subscriptions', { token: u.token, body }), 503, 'push-disabled');
    } finally {
      await c4.close();
    }
  }, 120_000);
});
