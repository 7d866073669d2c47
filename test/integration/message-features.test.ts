import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuid } from '../support/harness.ts';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, groupConversation, liveSocket, privateConversation, send, type TestUser } from '../support/factories.ts';
import type { TestSocket } from '../support/harness.ts';

type Reaction = { emoji: string; count: number; me: boolean };
type View = {
  message_id: string;
  seq: number;
  version: number;
  payload: { type: string; content?: string };
  edited_at: string | null;
  deleted_at: string | null;
  reactions: Reaction[];
  reply_to: null | { message_id: string; sender_id: number | null; sender_username: string | null; excerpt: string | null; deleted: boolean };
};

describe.each(targetKinds())('message features on %s', (kind) => {
  let c4: TestTarget;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind));
  }, startTimeoutMs);
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await c4?.close();
  }, startTimeoutMs);

  const pair = async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    return { alice, bob, conversationId: await privateConversation(c4, alice, bob) };
  };
  const react = (u: TestUser, id: string, emoji: string, method: 'PUT' | 'DELETE' = 'PUT') =>
    c4.request(method, `/v1/messages/${id}/reactions/${encodeURIComponent(emoji)}`, { token: u.token });
  const edit = (u: TestUser, id: string, content: string) =>
    c4.request('PATCH', `/v1/messages/${id}`, { token: u.token, body: { payload: { type: 'text', content } } });
  const remove = (u: TestUser, id: string) => c4.request('DELETE', `/v1/messages/${id}`, { token: u.token });
  const details = async (u: TestUser, id: string) => {
    const res = await c4.request('GET', `/v1/messages/${id}`, { token: u.token });
    expect(res.status).toBe(200);
    return res.body as View;
  };
  const history = async (u: TestUser, conversationId: number, qs = '') => {
    const res = await c4.request('GET', `/v1/conversations/${conversationId}/messages${qs}`, { token: u.token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { messages: View[]; total: number; has_more: boolean; last_version: number };
  };
  const search = async (u: TestUser, qs: string) => {
    const res = await c4.request('GET', `/v1/search/messages?${qs}`, { token: u.token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as {
      results: { message_id: string; conversation_id: number; snippet_html: string; rank: number }[];
      before: string;
      has_more: boolean;
    };
  };
  const connect = async (u: TestUser) => {
    const socket = await liveSocket(c4.wsUrl(u.token));
    sockets.push(socket);
    await socket.next((f) => f.type === 'connected');
    return socket;
  };
  const backdate = (id: string, hours: number) => c4.query(`UPDATE messages SET created_at = now() - interval '${hours} hours' WHERE id = $1`, [id]);

  describe('reactions', () => {
    it('counts one of each emoji per user, says which are mine, and takes them back', async () => {
      const { alice, bob, conversationId } = await pair();
      const m = await send(c4, alice.token, conversationId, 'react to me');
      const bobWs = await connect(bob);
      const first = await react(alice, m.message_id, '👍');
      expect(first.status).toBe(200);
      expect((first.body as View).reactions).toEqual([{ emoji: '👍', count: 1, me: true }]);
      expect(await bobWs.next((f) => f.type === 'message.reaction')).toMatchObject({
        message_id: m.message_id,
        conversation_id: conversationId,
        user_id: alice.id,
        emoji: '👍',
        action: 'added',
        reactions: [{ emoji: '👍', count: 1 }],
        version: 1,
      });
      // Again: idempotent, no new version.
      expect(((await react(alice, m.message_id, '👍')).body as View).version).toBe(1);
      await react(bob, m.message_id, '👍');
      await react(bob, m.message_id, '👨‍👩‍👧‍👦');
      expect((await details(bob, m.message_id)).reactions).toEqual([
        { emoji: '👍', count: 2, me: true },
        { emoji: '👨‍👩‍👧‍👦', count: 1, me: true },
      ]);
      expect((await details(alice, m.message_id)).reactions).toEqual([
        { emoji: '👍', count: 2, me: true },
        { emoji: '👨‍👩‍👧‍👦', count: 1, me: false },
      ]);
      const taken = await react(bob, m.message_id, '👍', 'DELETE');
      expect(taken.status).toBe(200);
      expect((taken.body as View).reactions).toEqual([
        { emoji: '👍', count: 1, me: false },
        { emoji: '👨‍👩‍👧‍👦', count: 1, me: true },
      ]);
      expect((taken.body as View).version).toBe(4);
      expect(await bobWs.next((f) => f.type === 'message.reaction' && f.action === 'removed')).toMatchObject({ user_id: bob.id, emoji: '👍', version: 4 });
    });

    it('accepts emoji sequences (flags, keycaps, skin tones, tags) and refuses anything else with 400 invalid-emoji', async () => {
      const { alice, conversationId } = await pair();
      const m = await send(c4, alice.token, conversationId, 'emoji test');
      for (const ok of ['🇧🇷', '1️⃣', '👋🏽', '🏴󠁧󠁢󠁥󠁮󠁧󠁿', '❤️', '👩🏻‍❤️‍💋‍👨🏼']) expect((await react(alice, m.message_id, ok)).status, ok).toBe(200);
      for (const bad of ['a', '1', '#', 'ok', '👍a', '👍 ', '\u200d', '\ufe0f', '👍'.repeat(11), '<script>']) {
        expectProblem(await react(alice, m.message_id, bad), 400, 'invalid-emoji');
      }
      expectProblem(await c4.request('PUT', `/v1/messages/${m.message_id}/reactions/%00`, { token: alice.token }), 400, 'invalid-text');
      expect((await details(alice, m.message_id)).reactions.map((r) => r.emoji)).toEqual(['🇧🇷', '1️⃣', '👋🏽', '🏴󠁧󠁢󠁥󠁮󠁧󠁿', '❤️', '👩🏻‍❤️‍💋‍👨🏼']);
    });

    it('bounds the distinct reactions of one user on one message', async () => {
      const { alice, conversationId } = await pair();
      const m = await send(c4, alice.token, conversationId, 'many');
      const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂'];
      for (const e of emoji) expect((await react(alice, m.message_id, e)).status).toBe(200);
      expectProblem(await react(alice, m.message_id, '🤗'), 409, 'too-many-reactions');
    });

    it('answers 404 message-not-found for a message of a conversation the caller is not in, changing nothing', async () => {
      const { alice, conversationId } = await pair();
      const eve = await c4.user('eve');
      const m = await send(c4, alice.token, conversationId, 'private');
      expectProblem(await react(eve, m.message_id, '👍'), 404, 'message-not-found');
      expectProblem(await react(eve, uuid(), '👍'), 404, 'message-not-found');
      expectProblem(await edit(eve, m.message_id, 'hacked'), 404, 'message-not-found');
      expectProblem(await remove(eve, m.message_id), 404, 'message-not-found');
      expectProblem(await c4.request('GET', `/v1/messages/${m.message_id}/versions`, { token: eve.token }), 404, 'message-not-found');
      expect(await details(alice, m.message_id)).toMatchObject({ version: 0, reactions: [], payload: { content: 'private' } });
    });
  });

  describe('edit', () => {
    it('replaces the text, stamps edited_at, keeps the previous versions for the sender, and tells the members', async () => {
      const { alice, bob, conversationId } = await pair();
      const m = await send(c4, alice.token, conversationId, 'helo');
      const bobWs = await connect(bob);
      const res = await edit(alice, m.message_id, 'hello');
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ payload: { type: 'text', content: 'hello' }, version: 1, edited_at: expect.stringMatching(/Z$/) });
      expect(await bobWs.next((f) => f.type === 'message.updated')).toMatchObject({
        message_id: m.message_id,
        seq: m.seq,
        version: 1,
        payload: { type: 'text', content: 'hello' },
      });
      await edit(alice, m.message_id, 'hello, world');
      const versions = await c4.request('GET', `/v1/messages/${m.message_id}/versions`, { token: alice.token });
      expect(versions.status).toBe(200);
      expect(versions.body.current.payload).toEqual({ type: 'text', content: 'hello, world' });
      expect(versions.body.versions.map((v: { payload: { content: string } }) => v.payload.content)).toEqual(['helo', 'hello']);
      expectProblem(await c4.request('GET', `/v1/messages/${m.message_id}/versions`, { token: bob.token }), 403, 'not-message-sender');
      // The list preview follows the last message's edit.
      const list = await c4.request('GET', '/v1/conversations', { token: bob.token });
      expect(list.body.items.find((c: { conversation_id: number }) => c.conversation_id === conversationId).last_message_content).toBe('hello, world');
    });

    it('refuses another user’s message, an expired window, a file message, bad text and non-text payloads', async () => {
      const { alice, bob, conversationId } = await pair();
      const m = await send(c4, alice.token, conversationId, 'mine');
      expectProblem(await edit(bob, m.message_id, 'yours now'), 403, 'not-message-sender');
      expectProblem(await edit(alice, m.message_id, 'nul \u0000 here'), 400, 'invalid-text');
      expectProblem(await edit(alice, m.message_id, 'x'.repeat(4097)), 400, 'validation-failed');
      expectProblem(
        await c4.request('PATCH', `/v1/messages/${m.message_id}`, { token: alice.token, body: { payload: { type: 'file', file_id: uuid() } } }),
        400,
        'validation-failed',
      );
      expectProblem(await c4.request('PATCH', `/v1/messages/${m.message_id}`, { token: alice.token, body: {} }), 400, 'validation-failed');
      const old = await send(c4, alice.token, conversationId, 'old');
      await backdate(old.message_id, 49);
      expectProblem(await edit(alice, old.message_id, 'too late'), 409, 'edit-window-expired');
      expectProblem(await remove(alice, old.message_id), 409, 'edit-window-expired');
      await c4.query(`UPDATE messages SET payload = '{"type":"file","file_id":"${uuid()}","filename":"a.txt"}' WHERE id = $1`, [m.message_id]);
      expectProblem(await edit(alice, m.message_id, 'text now'), 409, 'not-editable');
      expect(await details(alice, old.message_id)).toMatchObject({ version: 0, edited_at: null, payload: { content: 'old' } });
    });
  });

  describe('delete', () => {
    it('leaves a tombstone without the text, versions or reactions, and tells the members', async () => {
      const { alice, bob, conversationId } = await pair();
      const m = await send(c4, alice.token, conversationId, 'secret words');
      await edit(alice, m.message_id, 'secret words, edited');
      await react(bob, m.message_id, '😮');
      const bobWs = await connect(bob);
      expectProblem(await remove(bob, m.message_id), 403, 'not-message-sender');
      const res = await remove(alice, m.message_id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ payload: { type: 'deleted' }, deleted_at: expect.stringMatching(/Z$/), reactions: [], edited_at: null, version: 3 });
      expect(await bobWs.next((f) => f.type === 'message.deleted')).toMatchObject({ message_id: m.message_id, version: 3, deleted_by: alice.id });
      const stored = await c4.query<{ payload: unknown; n: number }>(
        'SELECT payload, (SELECT count(*)::int FROM message_versions WHERE message_id = $1) AS n FROM messages WHERE id = $1',
        [m.message_id],
      );
      expect(stored).toEqual([{ payload: { type: 'deleted' }, n: 0 }]);
      expect(JSON.stringify(await c4.query('SELECT * FROM messages WHERE id = $1', [m.message_id]))).not.toContain('secret');
      // Idempotent; the tombstone cannot be edited or reacted to.
      expect((await remove(alice, m.message_id)).body).toMatchObject({ version: 3 });
      expectProblem(await edit(alice, m.message_id, 'back'), 409, 'message-deleted');
      expectProblem(await react(bob, m.message_id, '👍'), 409, 'message-deleted');
      expect((await search(alice, 'q=secret')).results).toEqual([]);
      // The seq stays: history is still gap-free.
      expect((await history(bob, conversationId)).messages.map((x) => x.seq)).toEqual([m.seq]);
    });

    it('lets a group owner or admin delete anyone’s message, but not a plain member', async () => {
      const owner = await c4.user('owner');
      const admin = await c4.user('admin');
      const member = await c4.user('member');
      const group = await groupConversation(c4, owner, [admin, member]);
      const role = await c4.request('PATCH', `/v1/conversations/${group}/members/${admin.id}`, { token: owner.token, body: { role: 'admin' } });
      expect(role.status, JSON.stringify(role.body)).toBe(200);
      const a = await send(c4, member.token, group, 'spam 1');
      const b = await send(c4, owner.token, group, 'owner says');
      await backdate(a.message_id, 100); // moderation has no window
      expectProblem(await remove(member, b.message_id), 403, 'not-message-sender');
      expect((await remove(admin, a.message_id)).status).toBe(200);
      expect((await remove(admin, b.message_id)).status).toBe(200);
      expect((await details(member, a.message_id)).deleted_at).not.toBeNull();
    });
  });

  describe('ordering: catching up on changes', () => {
    it('changed_after lists every change after a version in order, with the current state, and sync replays them', async () => {
      const { alice, bob, conversationId } = await pair();
      const m1 = await send(c4, alice.token, conversationId, 'one');
      const m2 = await send(c4, alice.token, conversationId, 'two');
      const m3 = await send(c4, alice.token, conversationId, 'three');
      const start = (await history(bob, conversationId)).last_version;
      expect(start).toBe(0);
      await edit(alice, m1.message_id, 'one!'); // v1
      await react(bob, m2.message_id, '🎉'); // v2
      await edit(alice, m1.message_id, 'one!!'); // v3: m1 moves to v3
      await remove(alice, m3.message_id); // v4
      const all = await history(bob, conversationId, `?changed_after=0`);
      expect(all.messages.map((m) => [m.message_id, m.version])).toEqual([
        [m2.message_id, 2],
        [m1.message_id, 3],
        [m3.message_id, 4],
      ]);
      expect(all.last_version).toBe(4);
      expect(all.messages[1].payload.content).toBe('one!!');
      expect(all.messages[0].reactions).toEqual([{ emoji: '🎉', count: 1, me: true }]);
      const page = await history(bob, conversationId, `?changed_after=2&limit=1`);
      expect(page).toMatchObject({ total: 2, has_more: true });
      expect(page.messages.map((m) => m.version)).toEqual([3]);

      const bobWs = await connect(bob);
      bobWs.send({ action: 'subscribe', conversation_id: conversationId });
      await bobWs.next((f) => f.type === 'subscribed');
      const from = bobWs.frames.length;
      bobWs.send({ action: 'sync', since: { [conversationId]: 3 }, versions: { [conversationId]: 1 } });
      const synced = await bobWs.next((f) => f.type === 'synced');
      expect(synced).toMatchObject({ conversations: { [conversationId]: 3 }, versions: { [conversationId]: 4 } });
      const changed = bobWs.frames.slice(from).filter((f) => f.type === 'message.changed');
      expect(changed.map((f) => [f.message_id, f.version])).toEqual([
        [m2.message_id, 2],
        [m1.message_id, 3],
        [m3.message_id, 4],
      ]);
      expect(changed[2]).toMatchObject({ payload: { type: 'deleted' }, deleted_at: expect.any(String) });
    });
  });

  describe('replies', () => {
    it('carries a quote of the original, and says when it was deleted', async () => {
      const { alice, bob, conversationId } = await pair();
      const original = await send(c4, alice.token, conversationId, 'x'.repeat(150));
      const bobWs = await connect(bob);
      const id = uuid();
      const res = await c4.request('POST', '/v1/messages', {
        token: bob.token,
        body: { message_id: id, conversation_id: conversationId, payload: { type: 'text', content: 'answer' }, reply_to: original.message_id },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const quote = { message_id: original.message_id, sender_id: alice.id, sender_username: alice.username, excerpt: 'x'.repeat(100), deleted: false };
      expect(await bobWs.next((f) => f.type === 'message.created' && f.message_id === id)).toMatchObject({ reply_to: quote });
      expect((await details(alice, id)).reply_to).toEqual(quote);
      await remove(alice, original.message_id);
      expect((await details(bob, id)).reply_to).toEqual({ ...quote, excerpt: null, deleted: true });
      expect((await details(bob, original.message_id)).reply_to).toBeNull();
    });

    it('refuses a reply to a message of another conversation or none, with 400 reply-not-found', async () => {
      const { alice, bob, conversationId } = await pair();
      const elsewhere = await send(c4, alice.token, await privateConversation(c4, alice, await c4.user('carol')), 'other chat');
      for (const target of [elsewhere.message_id, uuid()]) {
        expectProblem(
          await c4.request('POST', '/v1/messages', {
            token: bob.token,
            body: { message_id: uuid(), conversation_id: conversationId, payload: { type: 'text', content: 'a' }, reply_to: target },
          }),
          400,
          'reply-not-found',
        );
      }
      expect((await history(bob, conversationId)).messages).toEqual([]);
    });
  });

  describe('search', () => {
    it('finds word forms in the caller’s conversations only, ranked, with escaped highlighted snippets', async () => {
      const { alice, bob, conversationId } = await pair();
      const eve = await c4.user('eve');
      const evesChat = await privateConversation(c4, eve, await c4.user('mallory'));
      await send(c4, eve.token, evesChat, 'zebras running everywhere');
      const a = await send(c4, alice.token, conversationId, 'The zebras & lions were <i>running</i> fast');
      await send(c4, bob.token, conversationId, 'a zebra');
      await send(c4, bob.token, conversationId, 'nothing to see');
      const found = await search(bob, 'q=zebra%20runs');
      expect(found.results.map((r) => r.message_id)).toEqual([a.message_id]);
      expect(found.results[0].snippet_html).toContain('<mark>zebras</mark>');
      expect(found.results[0].snippet_html).toContain('<mark>running</mark>');
      expect(found.results[0].snippet_html).toContain('&amp;');
      expect(found.results[0].snippet_html).not.toMatch(/<(?!\/?mark>)/);
      const zebras = await search(bob, 'q=zebra');
      expect(zebras.results).toHaveLength(2);
      expect(zebras.results.every((r) => r.conversation_id === conversationId)).toBe(true);
      // Words as written in any language (the simple configuration), and paging with a fixed `before`.
      await send(c4, alice.token, conversationId, 'mensagens enviadas ontem');
      expect((await search(alice, 'q=mensagens')).results).toHaveLength(1);
      const first = await search(bob, 'q=zebra&limit=1');
      expect(first.has_more).toBe(true);
      await send(c4, alice.token, conversationId, 'zebra zebra zebra newest');
      const second = await search(bob, `q=zebra&limit=1&offset=1&before=${encodeURIComponent(first.before)}`);
      expect(second.has_more).toBe(false);
      expect([first.results[0].message_id, second.results[0].message_id].sort()).toEqual(zebras.results.map((r) => r.message_id).sort());
      // Scoped to one conversation: a non-member is refused as for its history.
      expectProblem(await c4.request('GET', `/v1/search/messages?q=zebra&conversation_id=${evesChat}`, { token: bob.token }), 403, 'not-a-member');
      expectProblem(await c4.request('GET', '/v1/search/messages?q=', { token: bob.token }), 400, 'validation-failed');
      expectProblem(await c4.request('GET', '/v1/search/messages?q=%00', { token: bob.token }), 400, 'invalid-text');
    });
  });

  describe('documentation', () => {
    it('documents the new routes, their problems and the reply_to field in /openapi.json', async () => {
      const doc = (await c4.request('GET', '/openapi.json')).body;
      const reactions = doc.paths['/v1/messages/{message_id}/reactions/{emoji}'];
      expect(Object.keys(reactions.put.responses)).toEqual(expect.arrayContaining(['200', '400', '404', '409']));
      expect(Object.keys(reactions.delete.responses)).toEqual(expect.arrayContaining(['200', '400', '404', '409']));
      expect(Object.keys(doc.paths['/v1/messages/{message_id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
      expect(doc.paths['/v1/messages/{message_id}/versions'].get.responses['403']).toBeDefined();
      expect(doc.paths['/v1/search/messages'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
        'before',
        'conversation_id',
        'limit',
        'offset',
        'q',
      ]);
      expect(JSON.stringify(doc.paths['/v1/messages'].post.requestBody)).toContain('reply_to');
    });
  });

  describe('channels', () => {
    it('flags what each channel relays: all four on Telegram, reactions and replies on WhatsApp, replies on Messenger, none on Instagram', async () => {
      const { alice } = await pair();
      const res = await c4.request('GET', '/v1/channels', { token: alice.token });
      expect(res.status).toBe(200);
      const flags = Object.fromEntries(
        res.body.map((c: { channel: string; capabilities: Record<string, unknown> }) => [
          c.channel,
          [c.capabilities.edits, c.capabilities.deletes, c.capabilities.reactions, c.capabilities.replies],
        ]),
      );
      expect(flags).toEqual({
        telegram: [true, true, true, true],
        whatsapp: [false, false, true, true],
        messenger: [false, false, false, true],
        instagram: [false, false, false, false],
      });
    });
  });
});
