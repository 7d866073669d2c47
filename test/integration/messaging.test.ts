import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSocket, eventually, uuid } from '../support/harness.ts';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';

describe.each(targetKinds())('messaging end to end on %s', (kind) => {
  let c4: TestTarget;
  beforeAll(async () => {
    c4 = await startTarget(kind);
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  it('delivers a message live, moves it to delivered on ack and to read on the read cursor', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    const conv = await c4.request('POST', '/v1/conversations', { token: alice.token, body: { type: 'private', member_ids: [bob.id] } });
    expect(conv.status).toBe(201);
    const conversationId = conv.body.conversation_id;
    const aliceWs = await TestSocket.connect(c4.wsUrl(alice.token));
    const bobWs = await TestSocket.connect(c4.wsUrl(bob.token));
    await bobWs.next((f) => f.type === 'connected');
    await aliceWs.next((f) => f.type === 'connected');

    const id = uuid();
    const sent = await c4.request('POST', '/v1/messages', {
      token: alice.token,
      body: { message_id: id, conversation_id: conversationId, payload: { type: 'text', content: 'hello bob' } },
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ status: 'accepted', message_id: id, conversation_id: conversationId, seq: 1 });

    const created = await bobWs.next((f) => f.type === 'message.created' && f.message_id === id);
    expect(created).toMatchObject({ seq: 1, sender_id: alice.id, payload: { type: 'text', content: 'hello bob' } });
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'sent');
    bobWs.send({ action: 'ack', conversation_id: conversationId, seq: 1 });
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'delivered');

    const read = await c4.request('POST', `/v1/conversations/${conversationId}/read`, { token: bob.token, body: {} });
    expect(read.body).toEqual({ status: 'success', conversation_id: conversationId, read_seq: 1, messages_marked_read: 1 });
    await aliceWs.next((f) => f.type === 'conversation.read' && f.user_id === bob.id && f.read_seq === 1);
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === id && f.status === 'read');

    const details = await c4.request('GET', `/v1/messages/${id}`, { token: alice.token });
    expect(details.body.status).toBe('read');
    expect(details.body.statuses.recipients).toEqual([expect.objectContaining({ user_id: bob.id, status: 'read' })]);
    expect(details.body.history.map((h: any) => h.status)).toEqual(['sent', 'delivered', 'read']);
    aliceWs.close();
    bobWs.close();
  });

  it('delivers through an external channel and records it per channel', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    const conv = await c4.request('POST', '/v1/conversations', { token: alice.token, body: { type: 'private', member_ids: [bob.id] } });
    const id = uuid();
    await c4.request('POST', '/v1/messages', {
      token: alice.token,
      body: {
        message_id: id,
        conversation_id: conv.body.conversation_id,
        payload: { type: 'text', content: 'via whatsapp' },
        channels: ['whatsapp'],
        to: '+15550001',
      },
    });
    const done = await eventually(async () => {
      const r = await c4.request('GET', `/v1/messages/${id}`, { token: alice.token });
      return r.body.status === 'delivered' && r.body;
    });
    expect(done.statuses.channels).toEqual([expect.objectContaining({ channel: 'whatsapp', status: 'delivered', attempts: 1 })]);
    expect(done.statuses.recipients).toEqual([]);
  });
});
