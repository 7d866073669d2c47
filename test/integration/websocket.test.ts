import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventually, TestSocket } from '../support/harness.ts';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, groupConversation, liveSocket, privateConversation, send, signAccessToken, signingKey, sleep } from '../support/factories.ts';

const PING_MS = 200;

describe.each(targetKinds())('WebSocket contract on %s', (kind) => {
  let c4: TestTarget;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind, { WS_MAX_PER_USER: '2', WS_PING_INTERVAL_MS: String(PING_MS) }));
  }, startTimeoutMs);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await c4?.close();
  }, startTimeoutMs);

  /** A connected, ping-answering socket that is closed after the suite. */
  const connect = async (token: string) => {
    const socket = await liveSocket(c4.wsUrl(token));
    sockets.push(socket);
    await socket.next((f) => f.type === 'connected');
    return socket;
  };
  const bareUrl = () => c4.wsUrl('x').replace(/\?.*$/, '');

  describe('connecting', () => {
    it('closes with 4001 for a missing, garbage, expired or forged token', async () => {
      const u = await c4.user('ws');
      const now = Math.floor(Date.now() / 1000);
      const expired = await signAccessToken(await signingKey(c4), u, { issuedAt: now - 3600, expiresAt: now - 60 });
      const forged = await signAccessToken(new TextEncoder().encode('some-other-secret-0123456789abcd'), u);
      for (const url of [bareUrl(), c4.wsUrl('garbage'), c4.wsUrl(expired), c4.wsUrl(forged)]) {
        const socket = await TestSocket.connect(url);
        expect(await socket.closed()).toBe(4001);
        expect(socket.frames.filter((f) => f.type === 'connected')).toEqual([]);
      }
      const badHeader = await TestSocket.connect(bareUrl(), { authorization: 'Bearer garbage' });
      expect(await badHeader.closed()).toBe(4001);
    });

    it('sends `connected` first, with the user, a connection id and the server instance', async () => {
      const u = await c4.user('ws');
      const socket = await connect(u.token);
      expect(socket.frames[0]).toEqual({
        type: 'connected',
        user_id: u.id,
        username: u.username,
        connection_id: expect.any(String),
        server_instance: expect.any(String),
        timestamp: expect.stringMatching(/Z$/),
      });
    });

    it('accepts the token in an Authorization header', async () => {
      const u = await c4.user('ws');
      const socket = await TestSocket.connect(bareUrl(), { authorization: `Bearer ${u.token}` });
      sockets.push(socket);
      expect(await socket.next((f) => f.type === 'connected')).toMatchObject({ user_id: u.id });
    });

    it('closes a socket beyond WS_MAX_PER_USER (2) with 4008 and keeps the others', async () => {
      const u = await c4.user('ws');
      const first = await connect(u.token);
      const second = await connect(u.token);
      const third = await TestSocket.connect(c4.wsUrl(u.token));
      expect(await third.closed()).toBe(4008);
      expect(first.closeCode).toBeUndefined();
      expect(second.closeCode).toBeUndefined();
      first.close();
      await first.closed();
      // The freed slot can be used again (the server notices the close asynchronously).
      let replacement: TestSocket | undefined;
      for (let i = 0; i < 20 && !replacement; i++) {
        const s = await liveSocket(c4.wsUrl(u.token));
        const outcome = await Promise.race([s.next((f) => f.type === 'connected').then(() => 'connected'), s.closed().then(() => 'closed')]);
        if (outcome === 'connected') replacement = s;
        else await sleep(25);
      }
      expect(replacement).toBeDefined();
      sockets.push(replacement!);
    });
  });

  describe('events', () => {
    it('subscribes to a conversation created after connecting: conversation.created, then message.created', async () => {
      const alice = await c4.user('alice');
      const bob = await c4.user('bob');
      const bobWs = await connect(bob.token);
      const conversationId = await privateConversation(c4, alice, bob);
      expect(await bobWs.next((f) => f.type === 'conversation.created')).toMatchObject({
        conversation_id: conversationId,
        conversation_type: 'private',
        member_ids: expect.arrayContaining([alice.id, bob.id]),
      });
      const sent = await send(c4, alice.token, conversationId, 'fresh conversation');
      expect(await bobWs.next((f) => f.type === 'message.created')).toMatchObject({
        message_id: sent.message_id,
        conversation_id: conversationId,
        seq: 1,
        sender_id: alice.id,
        sender_username: alice.username,
        payload: { type: 'text', content: 'fresh conversation' },
        channels: ['internal'],
        created_at: sent.created_at,
        timestamp: expect.any(String),
      });
    });

    it('announces member.joined and member.left, and a removed member stops receiving', async () => {
      const [owner, a, b, newcomer] = await Promise.all(['owner', 'a', 'b', 'new'].map((p) => c4.user(p)));
      const id = await groupConversation(c4, owner, [a, b]);
      const aWs = await connect(a.token);
      const bWs = await connect(b.token);
      const newWs = await connect(newcomer.token);

      await c4.request('POST', `/v1/conversations/${id}/members`, { token: owner.token, body: { user_ids: [newcomer.id] } });
      expect(await aWs.next((f) => f.type === 'member.joined')).toMatchObject({ conversation_id: id, user_id: newcomer.id, username: newcomer.username });
      await newWs.next((f) => f.type === 'conversation.created' && f.conversation_id === id);

      expect((await c4.request('DELETE', `/v1/conversations/${id}/members/${b.id}`, { token: owner.token })).status).toBe(204);
      expect(await aWs.next((f) => f.type === 'member.left')).toMatchObject({ conversation_id: id, user_id: b.id, username: b.username });
      expect(await bWs.next((f) => f.type === 'member.left')).toMatchObject({ conversation_id: id, user_id: b.id });

      const after = await send(c4, owner.token, id, 'after the change');
      await aWs.next((f) => f.type === 'message.created' && f.message_id === after.message_id);
      await newWs.next((f) => f.type === 'message.created' && f.message_id === after.message_id);
      await sleep(100);
      expect(bWs.frames.filter((f) => f.type === 'message.created')).toEqual([]);
    });

    it('sync sends exactly the missed message.created frames in seq order, then synced with the last seqs', async () => {
      const alice = await c4.user('alice');
      const bob = await c4.user('bob');
      const outsider = await c4.user('eve');
      const id = await privateConversation(c4, alice, bob);
      const other = await privateConversation(c4, alice, outsider);
      for (let i = 1; i <= 5; i++) await send(c4, alice.token, id, `missed ${i}`);
      await send(c4, alice.token, other, 'not for bob');

      const bobWs = await connect(bob.token);
      const from = bobWs.frames.length;
      bobWs.send({ action: 'sync', since: { [id]: 2, [other]: 0 } });
      const synced = await bobWs.next((f) => f.type === 'synced');
      expect(synced.conversations).toEqual({ [id]: 5 });
      const replayed = bobWs.frames.slice(from).filter((f) => f.type === 'message.created');
      expect(replayed.map((f) => [f.conversation_id, f.seq, f.payload.content])).toEqual([
        [id, 3, 'missed 3'],
        [id, 4, 'missed 4'],
        [id, 5, 'missed 5'],
      ]);
      expect(bobWs.frames.indexOf(synced)).toBeGreaterThan(bobWs.frames.indexOf(replayed[2]));

      const upToDate = bobWs.frames.length;
      bobWs.send({ type: 'sync', since: { [id]: 5 } });
      await bobWs.next((f) => f.type === 'synced' && bobWs.frames.indexOf(f) >= upToDate);
      expect(bobWs.frames.slice(upToDate).filter((f) => f.type === 'message.created')).toEqual([]);
    });
  });

  describe('client frames', () => {
    it('answers an unknown action, invalid JSON and bad arguments with error frames carrying a code', async () => {
      const u = await c4.user('ws');
      const socket = await connect(u.token);
      socket.send({ action: 'dance' });
      expect(await socket.next((f) => f.type === 'error')).toEqual({
        type: 'error',
        code: 'unknown-action',
        error: expect.any(String),
        timestamp: expect.any(String),
      });
      socket.ws.send('{not json');
      expect(await socket.next((f) => f.type === 'error' && f.code === 'invalid-frame')).toMatchObject({ error: expect.any(String) });
      socket.ws.send('[1,2]');
      socket.send({ action: 'ack', conversation_id: 'x', seq: 1 });
      socket.send({ action: 'sync', since: [1] });
      await eventually(() => socket.ofType('error').length >= 5, 5000).catch(() => undefined);
      expect(socket.ofType('error').map((f) => f.code)).toEqual(['unknown-action', 'invalid-frame', 'invalid-frame', 'invalid-frame', 'invalid-frame']);
      expect(socket.closeCode).toBeUndefined();
    });

    it('subscribes only to conversations of the caller (type is an alias of action)', async () => {
      const alice = await c4.user('alice');
      const bob = await c4.user('bob');
      const eve = await c4.user('eve');
      const id = await privateConversation(c4, alice, bob);
      const eveWs = await connect(eve.token);
      eveWs.send({ action: 'subscribe', conversation_id: id });
      expect(await eveWs.next((f) => f.type === 'error')).toMatchObject({ code: 'not-a-member' });
      eveWs.send({ action: 'subscribe', conversation_id: 987654321 });
      expect(await eveWs.next((f) => f.type === 'error' && f.code !== 'not-a-member')).toMatchObject({ code: 'conversation-not-found' });
      const bobWs = await connect(bob.token);
      bobWs.send({ type: 'unsubscribe', conversation_id: id });
      expect(await bobWs.next((f) => f.type === 'unsubscribed')).toMatchObject({ conversation_id: id });
      bobWs.send({ type: 'subscribe', conversation_id: id });
      expect(await bobWs.next((f) => f.type === 'subscribed')).toMatchObject({ conversation_id: id });
    });
  });

  describe('heartbeat', () => {
    it(`pings every interval (${PING_MS} ms), closes a silent socket after ~2 intervals, keeps one that answers`, async () => {
      const u = await c4.user('ws');
      const answering = await connect(u.token);
      const silent = new WebSocket(c4.wsUrl(u.token));
      const openedAt = await new Promise<number>((resolve, reject) => {
        silent.once('open', () => resolve(Date.now()));
        silent.once('error', reject);
      });
      const closedAt = await new Promise<number>((resolve) => silent.once('close', () => resolve(Date.now())));
      const silentFor = closedAt - openedAt;
      expect(silentFor).toBeGreaterThanOrEqual(2 * PING_MS - 50);
      expect(silentFor).toBeLessThan(6 * PING_MS);

      expect(await answering.next((f) => f.type === 'ping')).toMatchObject({ timestamp: expect.any(String) });
      await sleep(4 * PING_MS);
      expect(answering.closeCode).toBeUndefined();
      expect(answering.ofType('ping').length).toBeGreaterThanOrEqual(3);
    });
  });
});
