/**
 * The distributed topology end to end: two `chat4all api` and two `chat4all worker` processes on
 * PostgreSQL, Kafka and Redis. Senders and recipients sit on different API instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSocket, eventually, uuid } from '../support/harness.ts';
import { startDeployment, type Deployment } from '../support/deployment.ts';
import { hasServices, kafkaBrokers, redisUrl } from '../support/services.ts';
import { postgresUrl } from '../support/stores.ts';
import { clientSocket, eventsConsumed, expectAllFinal, expectCompleteHistory, range, sendSeries, seqsByConversation } from './observe.ts';

const isRunnable = hasServices('distributed suite (flow)', 'kafka', 'redis', 'postgres');

describe.skipIf(!isRunnable)('distributed deployment: 2 API + 2 worker processes', () => {
  let d: Deployment;
  const sockets: TestSocket[] = [];
  const connect = async (api: number, token: string, isAcking = false) => {
    const s = await clientSocket(d, api, token, isAcking);
    sockets.push(s);
    return s;
  };
  beforeAll(async () => {
    d = await startDeployment({ postgresUrl: postgresUrl ?? '', kafkaBrokers, redisUrl: redisUrl ?? '', env: { WS_MAX_PER_USER: '3' } });
  }, 150_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await d?.close();
  }, 60_000);

  it('runs the core flow across instances: live message, sent, ack → delivered, read → read, replay, sync', async () => {
    const alice = await d.user('alice');
    const bob = await d.user('bob');
    const aliceWs = await connect(0, alice.token);
    const bobWs = await connect(1, bob.token);

    const conv = await d.request(0, 'POST', '/v1/conversations', { token: alice.token, body: { type: 'private', member_ids: [bob.id] } });
    expect(conv.status).toBe(201);
    const conversationId = conv.body.conversation_id;
    await bobWs.next((f) => f.type === 'conversation.created' && f.conversation_id === conversationId);

    const id = uuid();
    const body = { message_id: id, conversation_id: conversationId, payload: { type: 'text', content: 'hello across instances' } };
    const sent = await d.request(0, 'POST', '/v1/messages', { token: alice.token, body });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ status: 'accepted', message_id: id, seq: 1 });
    expect(await bobWs.next((f) => f.type === 'message.created' && f.message_id === id)).toMatchObject({ seq: 1, sender_id: alice.id, payload: body.payload });
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'sent', 15_000);

    bobWs.send({ action: 'ack', conversation_id: conversationId, seq: 1 });
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'delivered');
    const read = await d.request(1, 'POST', `/v1/conversations/${conversationId}/read`, { token: bob.token, body: {} });
    expect(read.body).toMatchObject({ read_seq: 1, messages_marked_read: 1 });
    await aliceWs.next((f) => f.type === 'conversation.read' && f.user_id === bob.id);
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'read');
    const details = await d.request(1, 'GET', `/v1/messages/${id}`, { token: alice.token });
    expect(details.body.status).toBe('read');
    expect(details.body.history.map((h: any) => h.status)).toEqual(['sent', 'delivered', 'read']);

    // A retried send through the other instance answers with the original acceptance.
    const replay = await d.request(1, 'POST', '/v1/messages', { token: alice.token, body });
    expect(replay.status).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toMatchObject({ message_id: id, seq: 1 });

    // A device that reconnects elsewhere catches up with sync.
    const bobAgain = await connect(0, bob.token);
    bobAgain.send({ action: 'sync', since: { [conversationId]: 0 } });
    const synced = await bobAgain.next((f) => f.type === 'synced');
    expect(synced.conversations).toEqual({ [conversationId]: 1 });
    expect(bobAgain.ofType('message.created').map((f) => f.message_id)).toEqual([id]);
  }, 60_000);

  it('delivers to recipients on API B what was sent through API A, in seq order', async () => {
    const sender = await d.user('sender');
    const recipients = [await d.user('r'), await d.user('r'), await d.user('r')];
    const group = await d.request(0, 'POST', '/v1/conversations', {
      token: sender.token,
      body: { type: 'group', name: 'cross', member_ids: recipients.map((r) => r.id) },
    });
    const conversationId = group.body.conversation_id;
    const senderWs = await connect(0, sender.token);
    const recipientWs = await Promise.all(recipients.map((r) => connect(1, r.token, true)));

    await sendSeries(d, () => 0, sender.token, conversationId, 200);
    for (const ws of recipientWs) {
      await eventually(() => ws.ofType('message.created').length === 200, 15_000);
      expect(seqsByConversation(ws, 'message.created').get(conversationId)).toEqual(range(1, 200));
    }
    await expectAllFinal(d, [conversationId], 200);
    await eventually(() => (seqsByConversation(senderWs, 'message.status', 'delivered').get(conversationId)?.length ?? 0) === 200, 15_000);
    expect(seqsByConversation(senderWs, 'message.status', 'sent').get(conversationId)).toEqual(range(1, 200));
    expect(seqsByConversation(senderWs, 'message.status', 'delivered').get(conversationId), 'one delivered event per message, in seq order').toEqual(
      range(1, 200),
    );
  }, 60_000);

  it('keeps per-conversation order for 5,000 messages over 50 conversations through two routers', async () => {
    const sender = await d.user('bulk');
    const recipients = await Promise.all(Array.from({ length: 50 }, () => d.user('rcpt')));
    const conversations: number[] = [];
    for (const r of recipients) {
      const conv = await d.request(0, 'POST', '/v1/conversations', { token: sender.token, body: { type: 'private', member_ids: [r.id] } });
      conversations.push(conv.body.conversation_id);
    }
    const senderWs = await connect(0, sender.token);
    // Conversation k is sent through API k % 2 (the instance its sender's device uses); its recipient listens on the other.
    const recipientWs = await Promise.all(recipients.map((r, k) => connect(1 - (k % 2), r.token, true)));

    // 50 conversations in parallel, 100 messages each, one after another within a conversation.
    await Promise.all(conversations.map((c, k) => sendSeries(d, () => k % 2, sender.token, c, 100)));
    await expectAllFinal(d, conversations, 5000, 90_000);
    await eventually(() => senderWs.ofType('message.status').filter((f) => f.status === 'delivered').length === 5000, 20_000);

    const sent = seqsByConversation(senderWs, 'message.status', 'sent');
    const delivered = seqsByConversation(senderWs, 'message.status', 'delivered');
    for (const [k, c] of conversations.entries()) {
      expect(sent.get(c), `'sent' order in conversation ${c}`).toEqual(range(1, 100));
      expect(delivered.get(c), `one 'delivered' per message in conversation ${c}, in seq order`).toEqual(range(1, 100));
      expect(seqsByConversation(recipientWs[k], 'message.created').get(c), `live order in conversation ${c}`).toEqual(range(1, 100));
    }
    for (const [k, c] of conversations.entries()) if (k % 10 === 0) await expectCompleteHistory(d, 1 - (k % 2), recipients[k].token, c, 100);
    // Both routers did part of the work.
    const routed = await Promise.all(d.workers.map((w) => eventsConsumed(w.metricsUrl, { topic: 'messages', group: 'router' })));
    expect(
      routed.every((n) => n > 0),
      `messages routed per worker: ${routed.join(', ')}`,
    ).toBe(true);
  }, 150_000);

  it('serves /health, /ready and /metrics on every process, with Kafka and Redis in the readiness checks', async () => {
    for (const p of [...d.apis, ...d.workers]) {
      const ready = (await (await fetch(`${p.url}/ready`)).json()) as any;
      expect(ready.status).toBe('ready');
      expect(Object.keys(ready.checks)).toEqual(expect.arrayContaining(['database', 'event_log', 'fanout']));
      expect((await fetch(`${p.url}/health`)).status).toBe(200);
    }
    const metrics = await (await fetch(`${d.workers[0].metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/chat4all_consumer_lag\{topic="(messages|status|channel\.\w+)",partition="\d+",group="\w+"\} \d+/);
    expect(metrics).toMatch(/chat4all_outbox_backlog \d+/);
  });

  it('limits sockets per user across instances (WS_MAX_PER_USER=3)', async () => {
    const carol = await d.user('carol');
    const open = [await connect(0, carol.token), await connect(0, carol.token), await connect(1, carol.token)];
    const fourth = await TestSocket.connect(d.wsUrl(1, carol.token));
    expect(await fourth.closed()).toBe(4008);
    open[0].close();
    await eventually(
      async () => {
        const again = await TestSocket.connect(d.wsUrl(1, carol.token));
        const frame = await again.next((f) => f.type === 'connected', 2000).catch(() => undefined);
        if (frame) sockets.push(again);
        else again.close();
        return frame;
      },
      10_000,
      200,
    );
  });
});
