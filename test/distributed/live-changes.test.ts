/**
 * Issue 16 across instances: reactions, edits and deletions made through API 0 reach a socket on
 * API 1 (live frames, and `sync` with `versions` answered by the other instance), and Web Push
 * knows about sockets on every instance: a user whose only socket is on API 1 is not notified of
 * a message sent through API 0, and is notified once that socket closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createECDH } from 'node:crypto';
import { TestSocket, eventually, uuid } from '../support/harness.ts';
import { startDeployment, type Deployment } from '../support/deployment.ts';
import { hasServices, kafkaBrokers, redisUrl } from '../support/services.ts';
import { postgresUrl } from '../support/stores.ts';
import { FakePushService, type FakeSubscription } from '../fakes/push-service.ts';
import { clientSocket } from './observe.ts';

const isRunnable = hasServices('distributed suite (message changes and push)', 'kafka', 'redis', 'postgres');
type User = Awaited<ReturnType<Deployment['user']>>;

describe.skipIf(!isRunnable)('message changes and Web Push across two API instances', () => {
  let d: Deployment;
  let vapidKey: string | undefined;
  const fake = new FakePushService(() => vapidKey);
  const sockets: TestSocket[] = [];
  const connect = async (api: number, token: string) => {
    const s = await clientSocket(d, api, token);
    sockets.push(s);
    return s;
  };
  beforeAll(async () => {
    await fake.start();
    // One key pair for every process: a push signed by any worker verifies against the key the API hands out.
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    vapidKey = ecdh.getPublicKey().toString('base64url');
    d = await startDeployment({
      postgresUrl: postgresUrl ?? '',
      kafkaBrokers,
      redisUrl: redisUrl ?? '',
      env: {
        PUSH_ALLOW_LOOPBACK_HTTP: 'true',
        VAPID_PUBLIC_KEY: vapidKey,
        VAPID_PRIVATE_KEY: ecdh.getPrivateKey().toString('base64url'),
        VAPID_SUBJECT: 'mailto:ops@chat4all.test',
      },
    });
  }, 150_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await d?.close();
    await fake.stop();
  }, 60_000);

  const pair = async () => {
    const [alice, bob] = [await d.user('alice'), await d.user('bob')];
    const res = await d.request(0, 'POST', '/v1/conversations', { token: alice.token, body: { type: 'private', member_ids: [bob.id] } });
    expect(res.status).toBe(201);
    return { alice, bob, conversationId: res.body.conversation_id as number };
  };
  const send = async (api: number, u: User, conversationId: number, content: string) => {
    const res = await d.request(api, 'POST', '/v1/messages', {
      token: u.token,
      body: { message_id: uuid(), conversation_id: conversationId, payload: { type: 'text', content } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body as { message_id: string; seq: number };
  };
  const ok = async (reply: Promise<{ status: number; body: any }>) => {
    const res = await reply;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  it('a message sent the moment conversation.created arrives reaches that socket on the other instance (the frame waits for its subscription)', async () => {
    const [alice, bob, carol] = [await d.user('alice'), await d.user('bob'), await d.user('carol')];
    const bobWs = await connect(1, bob.token);
    for (let round = 0; round < 5; round++) {
      const res = await d.request(0, 'POST', '/v1/conversations', {
        token: alice.token,
        body: { type: 'group', name: `g${round}`, member_ids: [bob.id, carol.id] },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const id = res.body.conversation_id as number;
      await bobWs.next((f) => f.type === 'conversation.created' && f.conversation_id === id);
      const sent = await send(0, alice, id, `right away ${round}`);
      expect(await bobWs.next((f) => f.type === 'message.created' && f.conversation_id === id)).toMatchObject({ message_id: sent.message_id });
    }
  });

  it('a reaction, an edit and a deletion made through API 0 reach the other member’s socket on API 1, in version order', async () => {
    const { alice, bob, conversationId } = await pair();
    const bobWs = await connect(1, bob.token);
    const aliceWs = await connect(0, alice.token);
    const [first, second] = [await send(0, alice, conversationId, 'first'), await send(0, alice, conversationId, 'second')];
    await bobWs.next((f) => f.type === 'message.created' && f.message_id === second.message_id);

    await ok(d.request(0, 'PUT', `/v1/messages/${first.message_id}/reactions/${encodeURIComponent('👍')}`, { token: alice.token }));
    expect(await bobWs.next((f) => f.type === 'message.reaction')).toMatchObject({
      message_id: first.message_id,
      conversation_id: conversationId,
      version: 1,
      user_id: alice.id,
      emoji: '👍',
      action: 'added',
      reactions: [{ emoji: '👍', count: 1 }],
    });
    await ok(d.request(0, 'PATCH', `/v1/messages/${first.message_id}`, { token: alice.token, body: { payload: { type: 'text', content: 'first, edited' } } }));
    expect(await bobWs.next((f) => f.type === 'message.updated')).toMatchObject({
      message_id: first.message_id,
      version: 2,
      payload: { type: 'text', content: 'first, edited' },
      edited_at: expect.any(String),
    });
    await ok(d.request(0, 'DELETE', `/v1/messages/${second.message_id}`, { token: alice.token }));
    expect(await bobWs.next((f) => f.type === 'message.deleted')).toMatchObject({
      message_id: second.message_id,
      seq: second.seq,
      version: 3,
      deleted_by: alice.id,
    });
    // Bob's own reaction through API 1 reaches Alice on API 0: the fan-out works both ways.
    await ok(d.request(1, 'PUT', `/v1/messages/${first.message_id}/reactions/${encodeURIComponent('🎉')}`, { token: bob.token }));
    expect(await aliceWs.next((f) => f.type === 'message.reaction' && f.user_id === bob.id)).toMatchObject({ version: 4, emoji: '🎉' });

    const changes = bobWs.frames.filter((f) => ['message.reaction', 'message.updated', 'message.deleted'].includes(f.type));
    expect(changes.map((f) => f.version)).toEqual([1, 2, 3, 4]);
  });

  it('a socket on API 1 that missed changes made through API 0 catches up with sync versions', async () => {
    const { alice, bob, conversationId } = await pair();
    const kept = await send(0, alice, conversationId, 'keep me');
    const gone = await send(0, alice, conversationId, 'delete me');
    // Bob is offline while Alice edits, reacts and deletes.
    await ok(d.request(0, 'PATCH', `/v1/messages/${kept.message_id}`, { token: alice.token, body: { payload: { type: 'text', content: 'kept, edited' } } }));
    await ok(d.request(0, 'PUT', `/v1/messages/${kept.message_id}/reactions/${encodeURIComponent('❤️')}`, { token: alice.token }));
    await ok(d.request(0, 'DELETE', `/v1/messages/${gone.message_id}`, { token: alice.token }));

    const bobWs = await connect(1, bob.token);
    bobWs.send({ action: 'sync', since: { [conversationId]: gone.seq }, versions: { [conversationId]: 0 } });
    const synced = await bobWs.next((f) => f.type === 'synced');
    expect(synced).toMatchObject({ conversations: { [conversationId]: gone.seq }, versions: { [conversationId]: 3 } });
    const changed = bobWs.ofType('message.changed');
    // Each changed message once, in its current state, ordered by version.
    expect(changed.map((f) => [f.message_id, f.version])).toEqual([
      [kept.message_id, 2],
      [gone.message_id, 3],
    ]);
    expect(changed[0]).toMatchObject({ payload: { type: 'text', content: 'kept, edited' }, reactions: [{ emoji: '❤️', count: 1, me: false }] });
    expect(changed[1]).toMatchObject({ payload: { type: 'deleted' }, deleted_at: expect.any(String) });
  });

  describe('Web Push', () => {
    const subscribe = async (u: User): Promise<FakeSubscription> => {
      const sub = fake.subscribe();
      const res = await d.request(0, 'POST', '/v1/push/subscriptions', { token: u.token, body: sub.json });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return sub;
    };
    const online = (u: User) => eventually(async () => (await d.request(0, 'GET', `/v1/users/${u.id}/presence`, { token: u.token })).body.status === 'online');

    it('does not notify a user whose only socket is on the other instance, and does once it closes', async () => {
      const { alice, bob, conversationId } = await pair();
      const carol = await d.user('carol');
      const group = await d.request(0, 'POST', '/v1/conversations', { token: alice.token, body: { type: 'group', name: 'g', member_ids: [bob.id, carol.id] } });
      expect(group.status).toBe(201);
      const [bobSub, carolSub] = [await subscribe(bob), await subscribe(carol)];
      const bobWs = await connect(1, bob.token);
      await online(bob);

      // Carol, with no socket anywhere, is the control: when her notification has arrived, the
      // workers have decided for Bob too (both are candidates of the same message).
      const live = await send(0, alice, group.body.conversation_id, 'seen live on API 1');
      await eventually(() => fake.deliveriesTo(carolSub).find((x) => x.message.seq === live.seq), 20_000);
      await bobWs.next((f) => f.type === 'message.created' && f.message_id === live.message_id);
      const direct = await send(0, alice, conversationId, 'also seen live');
      await bobWs.next((f) => f.type === 'message.created' && f.message_id === direct.message_id);
      // The private message has no control recipient: give the workers time to decide wrongly.
      await new Promise((r) => setTimeout(r, 1500));
      expect(fake.deliveriesTo(bobSub)).toEqual([]);

      bobWs.close();
      await bobWs.closed();
      await eventually(async () => (await d.request(0, 'GET', `/v1/users/${bob.id}/presence`, { token: alice.token })).body.status === 'offline');
      const later = await send(0, alice, conversationId, 'bob is away now');
      const delivery = await eventually(() => fake.deliveriesTo(bobSub).find((x) => x.message.message_id === later.message_id), 20_000);
      expect(delivery.message).toMatchObject({ conversation_id: conversationId, seq: later.seq, preview: 'bob is away now' });
      expect(fake.deliveriesTo(bobSub)).toHaveLength(1);
      expect(fake.refusals).toEqual([]);
    });
  });
});
