/**
 * Typing and presence over the WebSocket, on PGlite, on PostgreSQL and across two API instances
 * (the distributed target puts consecutive sockets on different instances), and the AsyncAPI
 * document checked against every frame the sockets of this suite received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { TestSocket } from '../support/harness.ts';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, groupConversation, liveSocket, privateConversation, send, sleep } from '../support/factories.ts';

describe.each(targetKinds())('typing, presence and the AsyncAPI document on %s', (kind) => {
  let c4: TestTarget;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    // Pings often enough to see one, seldom enough that a busy machine does not cut sockets off (2 intervals).
    c4 = checkingProblems(await startTarget(kind, { WS_PING_INTERVAL_MS: '2000' }));
  }, startTimeoutMs);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await c4?.close();
  }, startTimeoutMs);

  const connect = async (token: string) => {
    const socket = await liveSocket(c4.wsUrl(token));
    sockets.push(socket);
    await socket.next((f) => f.type === 'connected');
    return socket;
  };
  const disconnect = async (socket: TestSocket) => {
    socket.close();
    await socket.closed();
  };
  const presenceOf = (viewer: { token: string }, userId: number) => c4.request('GET', `/v1/users/${userId}/presence`, { token: viewer.token });

  it('relays typing to the other members only, once per throttle window, with until a few seconds ahead', async () => {
    const [alice, bob] = [await c4.user('typist'), await c4.user('reader')];
    const conversationId = await privateConversation(c4, alice, bob);
    const bobWs = await connect(bob.token);
    const aliceWs = await connect(alice.token);
    const aliceOther = await connect(alice.token);

    const before = Date.now();
    aliceWs.send({ action: 'typing', conversation_id: conversationId });
    aliceWs.send({ action: 'typing', conversation_id: conversationId }); // within the window: dropped
    const typing = await bobWs.next((f) => f.type === 'typing');
    expect(typing).toEqual({
      type: 'typing',
      conversation_id: conversationId,
      user_id: alice.id,
      username: alice.username,
      until: expect.any(String),
      timestamp: expect.any(String),
    });
    const until = Date.parse(typing.until);
    expect(until - before).toBeGreaterThanOrEqual(3000);
    expect(until - before).toBeLessThan(15_000);
    await sleep(500);
    expect(bobWs.ofType('typing')).toHaveLength(1);
    // Never back to the typist's own sockets, and no answer or error for the dropped one.
    expect(aliceWs.ofType('typing')).toEqual([]);
    expect(aliceOther.ofType('typing')).toEqual([]);
    expect(aliceWs.ofType('error')).toEqual([]);

    // Another socket of the same user has its own window.
    aliceOther.send({ action: 'typing', conversation_id: conversationId });
    await bobWs.next((f) => f.type === 'typing' && bobWs.ofType('typing').length === 2);
    // Nothing was stored.
    const rows = await c4.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [conversationId]);
    expect(rows[0].n).toBe(0);
  });

  it('refuses typing in a conversation the user is not a member of, and a malformed typing frame', async () => {
    const [alice, bob, mallory] = [await c4.user('member'), await c4.user('member'), await c4.user('stranger')];
    const conversationId = await privateConversation(c4, alice, bob);
    const bobWs = await connect(bob.token);
    const malloryWs = await connect(mallory.token);
    malloryWs.send({ action: 'typing', conversation_id: conversationId });
    expect(await malloryWs.next((f) => f.type === 'error')).toMatchObject({ code: 'not-a-member' });
    malloryWs.send({ action: 'typing', conversation_id: 'x' });
    expect(await malloryWs.next((f) => f.type === 'error' && f.code === 'invalid-frame')).toMatchObject({ errors: [{ path: '/conversation_id' }] });
    malloryWs.send({ action: 'typing' });
    await malloryWs.next((f) => f.type === 'error' && f.errors?.[0]?.path === '/conversation_id' && malloryWs.ofType('error').length === 3);
    await sleep(300);
    expect(bobWs.ofType('typing')).toEqual([]);
  });

  it('announces online on the first socket and offline with last_seen_at when the last one closes, to people who share a conversation', async () => {
    const [alice, bob, carol] = [await c4.user('present'), await c4.user('watcher'), await c4.user('outsider')];
    await privateConversation(c4, alice, bob);
    const bobWs = await connect(bob.token);
    const carolWs = await connect(carol.token);
    expect((await presenceOf(bob, alice.id)).body).toEqual({ user_id: alice.id, status: 'offline' });

    const first = await connect(alice.token);
    expect(await bobWs.next((f) => f.type === 'presence' && f.user_id === alice.id)).toEqual({
      type: 'presence',
      user_id: alice.id,
      status: 'online',
      timestamp: expect.any(String),
    });
    const second = await connect(alice.token);
    expect((await presenceOf(bob, alice.id)).body).toEqual({ user_id: alice.id, status: 'online' });

    await disconnect(first);
    await sleep(400);
    // One socket left: still online, and nothing was announced.
    expect(bobWs.ofType('presence').filter((f) => f.user_id === alice.id)).toHaveLength(1);
    expect((await presenceOf(bob, alice.id)).body.status).toBe('online');

    await disconnect(second);
    const offline = await bobWs.next((f) => f.type === 'presence' && f.user_id === alice.id && f.status === 'offline');
    expect(offline.last_seen_at).toEqual(expect.any(String));
    expect(Math.abs(Date.parse(offline.last_seen_at) - Date.now())).toBeLessThan(10_000);
    const after = await presenceOf(bob, alice.id);
    expect(after.body).toEqual({ user_id: alice.id, status: 'offline', last_seen_at: offline.last_seen_at });
    // Carol shares no conversation with Alice: no frames, and the API does not tell her.
    expect(carolWs.ofType('presence')).toEqual([]);
    expectProblem(await presenceOf(carol, alice.id), 404, 'user-not-found');
    expectProblem(await presenceOf(bob, 999_999_999), 404, 'user-not-found');
    expectProblem(await c4.request('GET', '/v1/users/0/presence', { token: bob.token }), 400, 'validation-failed');
    // Anyone may ask about themselves.
    expect((await presenceOf(carol, carol.id)).body.status).toBe('online');
  });

  it('hides last_seen_at from others (not from the user) when hide_last_seen is on', async () => {
    const [alice, bob] = [await c4.user('private'), await c4.user('watcher')];
    await groupConversation(c4, alice, [bob, await c4.user('third')]);
    const bobWs = await connect(bob.token);
    expect((await c4.request('GET', '/v1/users/me/settings', { token: alice.token })).body).toEqual({ hide_last_seen: false });
    const set = await c4.request('PUT', '/v1/users/me/settings', { token: alice.token, body: { hide_last_seen: true } });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ hide_last_seen: true });
    expectProblem(await c4.request('PUT', '/v1/users/me/settings', { token: alice.token, body: { hide_last_seen: 'yes' } }), 400, 'validation-failed');
    expect((await c4.request('GET', '/v1/users/me/settings', { token: alice.token })).body).toEqual({ hide_last_seen: true });

    const aliceWs = await connect(alice.token);
    await bobWs.next((f) => f.type === 'presence' && f.user_id === alice.id && f.status === 'online');
    await disconnect(aliceWs);
    const offline = await bobWs.next((f) => f.type === 'presence' && f.user_id === alice.id && f.status === 'offline');
    expect(offline).not.toHaveProperty('last_seen_at');
    expect((await presenceOf(bob, alice.id)).body).toEqual({ user_id: alice.id, status: 'offline' });
    expect((await presenceOf(alice, alice.id)).body).toEqual({ user_id: alice.id, status: 'offline', last_seen_at: expect.any(String) });
  });

  it('serves /asyncapi.json, and every frame this suite received matches its schema', async () => {
    // More frame types: a group's life, a message and its receipts, sync, subscribe, pong and errors.
    const [owner, member, late] = [await c4.user('owner'), await c4.user('member'), await c4.user('late')];
    const ownerWs = await connect(owner.token);
    const memberWs = await connect(member.token);
    const lateWs = await connect(late.token);
    const group = await groupConversation(c4, owner, [member, await c4.user('third')]);
    await memberWs.next((f) => f.type === 'conversation.created' && f.conversation_id === group);
    const sent = await send(c4, owner.token, group, 'hello');
    await memberWs.next((f) => f.type === 'message.created' && f.message_id === sent.message_id);
    memberWs.send({ action: 'ack', conversation_id: group, seq: sent.seq });
    await ownerWs.next((f) => f.type === 'message.status' && f.message_id === sent.message_id, 15_000);
    await c4.request('POST', `/v1/conversations/${group}/read`, { token: member.token, body: {} });
    await ownerWs.next((f) => f.type === 'conversation.read');
    await c4.request('POST', `/v1/conversations/${group}/members`, { token: owner.token, body: { user_ids: [late.id] } });
    await memberWs.next((f) => f.type === 'member.joined');
    await c4.request('PATCH', `/v1/conversations/${group}/members/${late.id}`, { token: owner.token, body: { role: 'admin' } });
    await memberWs.next((f) => f.type === 'member.role_changed');
    await c4.request('PATCH', `/v1/conversations/${group}`, { token: owner.token, body: { name: 'renamed' } });
    await memberWs.next((f) => f.type === 'conversation.updated');
    await c4.request('DELETE', `/v1/conversations/${group}/members/${late.id}`, { token: owner.token });
    await lateWs.next((f) => f.type === 'member.left');
    memberWs.send({ action: 'sync', since: { [group]: 0 } });
    await memberWs.next((f) => f.type === 'synced');
    memberWs.send({ action: 'unsubscribe', conversation_id: group });
    await memberWs.next((f) => f.type === 'unsubscribed');
    memberWs.send({ action: 'subscribe', conversation_id: group });
    await memberWs.next((f) => f.type === 'subscribed');
    memberWs.send({ action: 'ping' });
    await memberWs.next((f) => f.type === 'pong');
    memberWs.send({ action: 'fly' });
    await memberWs.next((f) => f.type === 'error' && f.code === 'unknown-action');
    await memberWs.next((f) => f.type === 'ping', 5000);

    const res = await c4.request('GET', '/asyncapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.channels.live.address).toBe('/ws');
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validators = new Map<string, ValidateFunction>();
    for (const [key, schema] of Object.entries(doc.components.schemas)) validators.set(key, ajv.compile(schema as object));

    const frames = sockets.flatMap((s) => s.frames);
    const seen = new Set<string>();
    for (const frame of frames) {
      const validate = validators.get(`frame.${frame.type}`);
      expect(validate, `frame type ${frame.type} is in the document`).toBeDefined();
      expect(validate!(frame), `${frame.type}: ${JSON.stringify(validate!.errors)} in ${JSON.stringify(frame)}`).toBe(true);
      seen.add(frame.type);
    }
    const expected = ['connected', 'ping', 'pong', 'subscribed', 'unsubscribed', 'synced', 'error', 'message.created', 'message.status'];
    const more = [
      'conversation.created',
      'conversation.read',
      'conversation.updated',
      'member.joined',
      'member.left',
      'member.role_changed',
      'typing',
      'presence',
    ];
    expect([...seen].sort()).toEqual([...expected, ...more].sort());

    // The client actions the gateway accepts are the document's, and a wrong frame fails its schema.
    for (const action of ['ping', 'pong', 'subscribe', 'unsubscribe', 'ack', 'sync', 'typing']) expect(validators.has(`action.${action}`)).toBe(true);
    expect(validators.get('action.typing')!({ action: 'typing', conversation_id: 5 })).toBe(true);
    expect(validators.get('action.typing')!({ action: 'typing', conversation_id: 'x' })).toBe(false);
    expect(validators.get('frame.presence')!({ type: 'presence', user_id: 1, status: 'away', timestamp: new Date().toISOString() })).toBe(false);
    // Linked from the OpenAPI description that /docs renders.
    expect((await c4.request('GET', '/openapi.json')).body.info.description).toContain('/asyncapi.json');
  });
});
