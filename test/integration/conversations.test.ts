import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, groupConversation, privateConversation, send, tableCounts, type TestUser } from '../support/factories.ts';

const MAX_GROUP_MEMBERS = 5;

describe.each(targetKinds())('conversations contract on %s', (kind) => {
  let c4: TestTarget;
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind, { MAX_GROUP_MEMBERS: String(MAX_GROUP_MEMBERS) }));
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  const users = (n: number, prefix = 'c') => Promise.all(Array.from({ length: n }, () => c4.user(prefix)));
  const create = (u: TestUser, body: unknown) => c4.request('POST', '/v1/conversations', { token: u.token, body });
  const list = async (u: TestUser, qs = '') => {
    const res = await c4.request('GET', `/v1/conversations${qs}`, { token: u.token });
    expect(res.status).toBe(200);
    return res.body;
  };
  const details = async (u: TestUser, id: number) => (await c4.request('GET', `/v1/conversations/${id}`, { token: u.token })).body;
  const read = (u: TestUser, id: number, body: unknown = {}) => c4.request('POST', `/v1/conversations/${id}/read`, { token: u.token, body });

  describe('create', () => {
    it('creates a private conversation with the caller added and ids de-duplicated', async () => {
      const [alice, bob] = await users(2);
      const res = await create(alice, { type: 'private', member_ids: [bob.id, bob.id] });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ id: res.body.conversation_id, type: 'private', name: null, description: null, member_count: 2, last_seq: 0 });
      expect(res.body.created_at).toMatch(/Z$/);
      expect(res.body.members.map((m: { user_id: number }) => m.user_id).sort()).toEqual([alice.id, bob.id].sort());
      expect(res.body.members).toContainEqual(expect.objectContaining({ user_id: bob.id, username: bob.username, read_seq: 0 }));
    });

    it('returns the existing private conversation with 201 when asked again, from either side', async () => {
      const [alice, bob] = await users(2);
      const first = await privateConversation(c4, alice, bob);
      const again = await create(alice, { type: 'private', member_ids: [alice.id, bob.id] });
      expect(again.status).toBe(201);
      expect(again.body.conversation_id).toBe(first);
      expect(await privateConversation(c4, bob, alice)).toBe(first);
      expect((await list(alice)).total).toBe(1);
    });

    it('rejects a private conversation that is not exactly two people', async () => {
      const [alice, bob, carol] = await users(3);
      expectProblem(await create(alice, { type: 'private', member_ids: [alice.id] }), 400, 'invalid-member-count');
      expectProblem(await create(alice, { type: 'private', member_ids: [bob.id, carol.id] }), 400, 'invalid-member-count');
    });

    it(`accepts groups of 3 to MAX_GROUP_MEMBERS (${MAX_GROUP_MEMBERS}) and rejects the rest`, async () => {
      const [owner, ...others] = await users(MAX_GROUP_MEMBERS + 1);
      const before = await tableCounts(c4);
      expectProblem(await create(owner, { type: 'group', name: 'two', member_ids: [others[0].id] }), 400, 'invalid-member-count');
      expectProblem(await create(owner, { type: 'group', name: 'big', member_ids: others.map((u) => u.id) }), 400, 'invalid-member-count');
      expect(await tableCounts(c4)).toEqual(before);
      const three = await create(owner, { type: 'group', name: 'three', description: 'smallest', member_ids: others.slice(0, 2).map((u) => u.id) });
      expect(three.body).toMatchObject({ type: 'group', name: 'three', description: 'smallest', member_count: 3 });
      const full = await create(owner, { type: 'group', name: 'full', member_ids: others.slice(0, MAX_GROUP_MEMBERS - 1).map((u) => u.id) });
      expect(full.body.member_count).toBe(MAX_GROUP_MEMBERS);
      expect(full.body.members.find((m: { user_id: number }) => m.user_id === owner.id).role).toBe('owner');
    });

    it('rejects an unknown user with 400 user-not-found and creates nothing', async () => {
      const [alice, bob] = await users(2);
      const before = await tableCounts(c4);
      const p = expectProblem(await create(alice, { type: 'group', name: 'ghost', member_ids: [bob.id, 987654321] }), 400, 'user-not-found');
      expect(p.missing_user_ids).toEqual([987654321]);
      expectProblem(await create(alice, { type: 'private', member_ids: [987654321] }), 400, 'user-not-found');
      expect(await tableCounts(c4)).toEqual(before);
    });
  });

  describe('list', () => {
    it('orders by last activity, previews text cut to 100 chars, counts unread messages from others', async () => {
      const [alice, bob, carol] = await users(3);
      const withBob = await privateConversation(c4, alice, bob);
      const withCarol = await privateConversation(c4, alice, carol);
      expect((await list(alice)).items.map((i: { conversation_id: number }) => i.conversation_id)).toEqual([withCarol, withBob]);

      const long = 'x'.repeat(99) + 'é' + 'tail that must not appear';
      await send(c4, bob.token, withBob, long);
      await send(c4, bob.token, withBob, 'second');
      await send(c4, alice.token, withBob, 'mine is not unread');
      await send(c4, bob.token, withBob, long);
      const { items } = await list(alice);
      expect(items.map((i: { conversation_id: number }) => i.conversation_id)).toEqual([withBob, withCarol]);
      expect(items[0]).toEqual({
        conversation_id: withBob,
        type: 'private',
        name: null,
        created_at: expect.stringMatching(/Z$/),
        // Deprecated aliases, kept for one version.
        conversation_type: 'private',
        conversation_name: null,
        description: null,
        last_message_timestamp: expect.stringMatching(/Z$/),
        last_message_content: long.slice(0, 100),
        last_message_sender: bob.username,
        last_seq: 4,
        unread_count: 3,
        conversation_created_at: expect.stringMatching(/Z$/),
      });
      expect(items[0].conversation_created_at).toBe(items[0].created_at);
      expect(items[0].last_message_content).toHaveLength(100);
      expect(items[1]).toMatchObject({ last_message_content: null, last_message_timestamp: null, last_seq: 0, unread_count: 0 });
      // Alice's own message did not mark Bob's earlier ones read; Bob's messages never count for Bob.
      expect((await list(bob)).items[0]).toMatchObject({ conversation_id: withBob, unread_count: 1 });
    });

    it('paginates with total and has_more', async () => {
      const [me, ...others] = await users(4);
      for (const other of others) await privateConversation(c4, me, other);
      const page1 = await list(me, '?limit=2');
      expect(page1).toMatchObject({ total: 3, limit: 2, offset: 0, has_more: true });
      expect(page1.items).toHaveLength(2);
      const page2 = await list(me, '?limit=2&offset=2');
      expect(page2).toMatchObject({ total: 3, limit: 2, offset: 2, has_more: false });
      expect(page2.items).toHaveLength(1);
      expect((await list(me, '?offset=5')).items).toEqual([]);
      expect((await list(me)).limit).toBe(50);
    });
  });

  describe('details and members', () => {
    it('shows members with their read_seq; 403 not-a-member for outsiders; 404 for unknown ids', async () => {
      const [alice, bob, eve] = await users(3);
      const id = await privateConversation(c4, alice, bob);
      await send(c4, alice.token, id, 'one');
      await send(c4, alice.token, id, 'two');
      await read(bob, id, { up_to_seq: 1 });
      const d = await details(alice, id);
      expect(d).toMatchObject({ conversation_id: id, member_count: 2, last_seq: 2 });
      expect(d.members).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ user_id: alice.id, read_seq: 2 }),
          expect.objectContaining({ user_id: bob.id, username: bob.username, read_seq: 1, role: 'member' }),
        ]),
      );
      expectProblem(await c4.request('GET', `/v1/conversations/${id}`, { token: eve.token }), 403, 'not-a-member');
      expectProblem(await c4.request('GET', '/v1/conversations/987654321', { token: eve.token }), 404, 'conversation-not-found');
      expectProblem(await c4.request('POST', `/v1/conversations/${id}/members`, { token: eve.token, body: { user_ids: [eve.id] } }), 403, 'not-a-member');
      expectProblem(
        await c4.request('POST', '/v1/conversations/987654321/members', { token: eve.token, body: { user_ids: [eve.id] } }),
        404,
        'conversation-not-found',
      );
    });

    it('adds members to a group (ignoring ones already in), up to MAX_GROUP_MEMBERS', async () => {
      const [owner, a, b, c, d, e] = await users(6);
      const id = await groupConversation(c4, owner, [a, b]);
      const added = await c4.request('POST', `/v1/conversations/${id}/members`, { token: owner.token, body: { user_ids: [c.id, a.id, c.id] } });
      expect(added.status).toBe(200);
      expect(added.body.member_count).toBe(4);
      const before = await tableCounts(c4);
      expectProblem(
        await c4.request('POST', `/v1/conversations/${id}/members`, { token: owner.token, body: { user_ids: [d.id, e.id] } }),
        400,
        'invalid-member-count',
      );
      expectProblem(
        await c4.request('POST', `/v1/conversations/${id}/members`, { token: owner.token, body: { user_ids: [987654321] } }),
        400,
        'user-not-found',
      );
      expect(await tableCounts(c4)).toEqual(before);
      expect((await details(owner, id)).member_count).toBe(4);
    });

    it('lets the owner remove others and any member leave, but not remove others', async () => {
      const [owner, a, b, c] = await users(4);
      const id = await groupConversation(c4, owner, [a, b, c]);
      expectProblem(await c4.request('DELETE', `/v1/conversations/${id}/members/${b.id}`, { token: a.token }), 403, 'not-allowed');
      expect((await c4.request('DELETE', `/v1/conversations/${id}/members/${b.id}`, { token: owner.token })).status).toBe(204);
      expect((await c4.request('DELETE', `/v1/conversations/${id}/members/${a.id}`, { token: a.token })).status).toBe(204);
      expectProblem(await c4.request('GET', `/v1/conversations/${id}`, { token: a.token }), 403, 'not-a-member');
      expectProblem(await c4.request('DELETE', `/v1/conversations/${id}/members/${b.id}`, { token: owner.token }), 404, 'member-not-found');
      expect((await details(owner, id)).members.map((m: { user_id: number }) => m.user_id).sort()).toEqual([owner.id, c.id].sort());
    });

    it('refuses member changes on a private conversation with 400 not-a-group', async () => {
      const [alice, bob, carol] = await users(3);
      const id = await privateConversation(c4, alice, bob);
      expectProblem(await c4.request('POST', `/v1/conversations/${id}/members`, { token: alice.token, body: { user_ids: [carol.id] } }), 400, 'not-a-group');
      expectProblem(await c4.request('DELETE', `/v1/conversations/${id}/members/${bob.id}`, { token: alice.token }), 400, 'not-a-group');
      expect((await details(alice, id)).member_count).toBe(2);
    });
  });

  describe('read cursor', () => {
    it("defaults to the latest seq, counts only others' messages and never moves backwards", async () => {
      const [alice, bob] = await users(2);
      const id = await privateConversation(c4, alice, bob);
      for (const text of ['a1', 'a2']) await send(c4, alice.token, id, text);
      await send(c4, bob.token, id, 'b3');
      for (const text of ['a4', 'a5']) await send(c4, alice.token, id, text);

      const partial = await read(bob, id, { up_to_seq: 2 });
      expect(partial.body).toEqual({ status: 'success', conversation_id: id, read_seq: 2, messages_marked_read: 2 });
      // Seq 3 is Bob's own message: only 4 and 5 count.
      expect((await read(bob, id)).body).toEqual({ status: 'success', conversation_id: id, read_seq: 5, messages_marked_read: 2 });
      expect((await read(bob, id, { up_to_seq: 1 })).body).toMatchObject({ read_seq: 5, messages_marked_read: 0 });
      expect((await read(bob, id, { up_to_seq: 99 })).body).toMatchObject({ read_seq: 5, messages_marked_read: 0 });
      expect((await details(alice, id)).members).toContainEqual(expect.objectContaining({ user_id: bob.id, read_seq: 5 }));
      expect((await list(bob)).items[0].unread_count).toBe(0);
    });

    it('accepts a read without a body and clamps up_to_seq to the latest message', async () => {
      const [alice, bob, eve] = await users(3);
      const id = await privateConversation(c4, alice, bob);
      await send(c4, alice.token, id, 'hello');
      const res = await c4.request('POST', `/v1/conversations/${id}/read`, { token: bob.token });
      expect(res.body).toEqual({ status: 'success', conversation_id: id, read_seq: 1, messages_marked_read: 1 });
      expectProblem(await read(eve, id), 403, 'not-a-member');
      expectProblem(await read(eve, 987654321), 404, 'conversation-not-found');
    });
  });
});
