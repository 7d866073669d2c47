import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, uuid } from '../support/harness.ts';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, privateConversation, send, tableCounts, type TestUser } from '../support/factories.ts';

const MAX_TEXT_LENGTH = 4096;

describe.each(targetKinds())('messages contract on %s', (kind) => {
  let c4: TestTarget;
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind));
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  const pair = async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    return { alice, bob, conversationId: await privateConversation(c4, alice, bob) };
  };
  const post = (u: TestUser, body: unknown) => c4.request('POST', '/v1/messages', { token: u.token, body });
  const text = (conversationId: number, content: string, messageId: string = uuid()) => ({
    message_id: messageId,
    conversation_id: conversationId,
    payload: { type: 'text', content },
  });
  const history = async (u: TestUser, id: number, qs = '') => {
    const res = await c4.request('GET', `/v1/conversations/${id}/messages${qs}`, { token: u.token });
    expect(res.status).toBe(200);
    return res.body as { messages: { seq: number; payload: { content: string } }[]; total: number; limit: number; offset: number; has_more: boolean };
  };
  const seqs = (h: { messages: { seq: number }[] }) => h.messages.map((m) => m.seq);

  describe('send', () => {
    it('answers 202 accepted with the seq, counting per conversation', async () => {
      const { alice, bob, conversationId } = await pair();
      const other = await privateConversation(c4, alice, await c4.user('carol'));
      const id = uuid();
      const res = await post(alice, text(conversationId, 'hello', id));
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ status: 'accepted', message_id: id, conversation_id: conversationId, seq: 1, created_at: expect.stringMatching(/Z$/) });
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      expect((await send(c4, bob.token, conversationId, 'hi')).seq).toBe(2);
      expect((await send(c4, alice.token, other, 'first elsewhere')).seq).toBe(1);
      expect((await send(c4, alice.token, conversationId, 'third')).seq).toBe(3);
    });

    it('replays an identical retry with Idempotent-Replayed and the original answer', async () => {
      const { alice, conversationId } = await pair();
      const first = await send(c4, alice.token, conversationId, 'once');
      await send(c4, alice.token, conversationId, 'later');
      const before = await tableCounts(c4);
      // Same body with keys in another order is the same request.
      const retry = await post(alice, {
        payload: { content: 'once', type: 'text' },
        conversation_id: conversationId,
        message_id: first.message_id,
        channels: ['internal'],
      });
      expect(retry.status).toBe(202);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body).toEqual(first);
      expect(await tableCounts(c4)).toEqual(before);
    });

    it('answers 409 idempotency-conflict for the same id with another body or sender, storing nothing', async () => {
      const { alice, bob, conversationId } = await pair();
      const first = await send(c4, alice.token, conversationId, 'original');
      const before = await tableCounts(c4);
      expectProblem(await post(alice, text(conversationId, 'edited', first.message_id)), 409, 'idempotency-conflict');
      expectProblem(
        await post(alice, { ...text(conversationId, 'original', first.message_id), channels: ['internal', 'telegram'] }),
        409,
        'idempotency-conflict',
      );
      expectProblem(await post(bob, text(conversationId, 'original', first.message_id)), 409, 'idempotency-conflict');
      expect(await tableCounts(c4)).toEqual(before);
      const h = await history(alice, conversationId);
      expect(h.messages.map((m) => m.payload.content)).toEqual(['original']);
    });

    it('gives 20 parallel sends the seqs 1..20 without gaps or duplicates', async () => {
      const { alice, bob, conversationId } = await pair();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? bob : alice, text(conversationId, `parallel ${i}`))));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(202));
      expect(results.map((r) => r.body.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const stored = await history(alice, conversationId, '?after_seq=0&limit=100');
      expect(seqs(stored)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('stores one message when the same request races with itself', async () => {
      const { alice, conversationId } = await pair();
      const body = text(conversationId, 'raced');
      const results = await Promise.all(Array.from({ length: 8 }, () => post(alice, body)));
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(202));
      expect(new Set(results.map((r) => r.body.seq))).toEqual(new Set([1]));
      expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(7);
      expect((await history(alice, conversationId)).total).toBe(1);
    });

    it('accepts known channels and rejects an unknown one with 400', async () => {
      const { alice, conversationId } = await pair();
      const ok = await post(alice, { ...text(conversationId, 'multi'), channels: ['internal', 'telegram'], to: '+15550100' });
      expect(ok.status).toBe(202);
      const before = await tableCounts(c4);
      expectProblem(await post(alice, { ...text(conversationId, 'x'), channels: ['carrier-pigeon'] }), 400, 'validation-failed');
      expectProblem(await post(alice, { ...text(conversationId, 'x'), channels: [] }), 400, 'validation-failed');
      expectProblem(await post(alice, { ...text(conversationId, 'x'), channels: 'internal' }), 400, 'validation-failed');
      expect(await tableCounts(c4)).toEqual(before);
    });

    it(`accepts text of MAX_TEXT_LENGTH (${MAX_TEXT_LENGTH}) and rejects one more character or none`, async () => {
      const { alice, conversationId } = await pair();
      expect((await post(alice, text(conversationId, 'a'.repeat(MAX_TEXT_LENGTH)))).status).toBe(202);
      const before = await tableCounts(c4);
      const tooLong = expectProblem(await post(alice, text(conversationId, 'a'.repeat(MAX_TEXT_LENGTH + 1))), 400, 'validation-failed');
      expect(tooLong.errors).toEqual([expect.objectContaining({ path: '/payload/content' })]);
      expectProblem(await post(alice, text(conversationId, '')), 400, 'validation-failed');
      expect(await tableCounts(c4)).toEqual(before);
    });

    it('refuses senders outside the conversation (403) and unknown conversations (404)', async () => {
      const { conversationId } = await pair();
      const eve = await c4.user('eve');
      const before = await tableCounts(c4);
      expectProblem(await post(eve, text(conversationId, 'let me in')), 403, 'not-a-member');
      expectProblem(await post(eve, text(987654321, 'nowhere')), 404, 'conversation-not-found');
      expect(await tableCounts(c4)).toEqual(before);
    });

    it('does not mark earlier messages of others read when the reader replies', async () => {
      const { alice, bob, conversationId } = await pair();
      const question = await send(c4, alice.token, conversationId, 'question');
      await send(c4, bob.token, conversationId, 'quick reply');
      const listed = await c4.request('GET', '/v1/conversations', { token: bob.token });
      expect(listed.body.items[0]).toMatchObject({ conversation_id: conversationId, unread_count: 1 });
      const details = await eventually(async () => {
        const d = (await c4.request('GET', `/v1/messages/${question.message_id}`, { token: alice.token })).body;
        return d.status !== 'accepted' && d;
      });
      expect(details.statuses.recipients).toEqual([expect.objectContaining({ user_id: bob.id })]);
      expect(details.statuses.recipients[0].status).not.toBe('read');
      expect(details.status).toBe(details.statuses.recipients[0].status);
    });
  });

  describe('history', () => {
    it('pages newest first by offset, oldest first after a seq, newest first before a seq', async () => {
      const { alice, bob, conversationId } = await pair();
      for (let i = 1; i <= 7; i++) await send(c4, (i % 2 ? alice : bob).token, conversationId, `m${i}`);
      const newest = await history(bob, conversationId, '?limit=3');
      expect(seqs(newest)).toEqual([7, 6, 5]);
      expect(newest).toMatchObject({ total: 7, limit: 3, offset: 0, has_more: true });
      expect(newest.messages[0]).toMatchObject({
        seq: 7,
        sender_id: alice.id,
        sender_username: alice.username,
        payload: { type: 'text', content: 'm7' },
        channels: ['internal'],
        conversation_id: conversationId,
      });
      const last = await history(bob, conversationId, '?limit=3&offset=6');
      expect(seqs(last)).toEqual([1]);
      expect(last.has_more).toBe(false);

      const after = await history(bob, conversationId, '?after_seq=2&limit=3');
      expect(seqs(after)).toEqual([3, 4, 5]);
      expect(after.has_more).toBe(true);
      expect(seqs(await history(bob, conversationId, '?after_seq=5'))).toEqual([6, 7]);
      expect((await history(bob, conversationId, '?after_seq=7')).messages).toEqual([]);

      const before = await history(bob, conversationId, '?before_seq=4&limit=2');
      expect(seqs(before)).toEqual([3, 2]);
      expect(before.has_more).toBe(true);
      expect((await history(bob, conversationId, '?before_seq=3&limit=2')).has_more).toBe(false);
    });

    it('is only for members', async () => {
      const { conversationId } = await pair();
      const eve = await c4.user('eve');
      expectProblem(await c4.request('GET', `/v1/conversations/${conversationId}/messages`, { token: eve.token }), 403, 'not-a-member');
      expectProblem(await c4.request('GET', '/v1/conversations/987654321/messages', { token: eve.token }), 404, 'conversation-not-found');
    });
  });

  describe('message details', () => {
    it('shows the message with per-recipient statuses and history to members', async () => {
      const { alice, bob, conversationId } = await pair();
      const sent = await send(c4, alice.token, conversationId, 'track me');
      const details = await eventually(async () => {
        const res = await c4.request('GET', `/v1/messages/${sent.message_id}`, { token: bob.token });
        return res.body.history?.length > 0 && res.body;
      });
      expect(details).toMatchObject({
        message_id: sent.message_id,
        conversation_id: conversationId,
        seq: 1,
        sender_id: alice.id,
        sender_username: alice.username,
        payload: { type: 'text', content: 'track me' },
        channels: ['internal'],
        created_at: sent.created_at,
        statuses: { recipients: [expect.objectContaining({ user_id: bob.id, status: expect.any(String) })], channels: [] },
      });
      expect(details.history[0]).toEqual({ status: 'sent', at: expect.stringMatching(/Z$/) });
    });

    it('answers 404 to a non-member (no leak) and for an unknown id', async () => {
      const { alice, conversationId } = await pair();
      const sent = await send(c4, alice.token, conversationId, 'secret');
      const eve = await c4.user('eve');
      const hidden = expectProblem(await c4.request('GET', `/v1/messages/${sent.message_id}`, { token: eve.token }), 404, 'message-not-found');
      const unknownId = uuid();
      const unknown = expectProblem(await c4.request('GET', `/v1/messages/${unknownId}`, { token: eve.token }), 404, 'message-not-found');
      expect(String(hidden.detail).replace(sent.message_id, 'ID')).toBe(String(unknown.detail).replace(unknownId, 'ID'));
    });
  });
});
