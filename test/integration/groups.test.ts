import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestSocket } from '../support/harness.ts';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, groupConversation, liveSocket, privateConversation, send, tableCounts, type TestUser } from '../support/factories.ts';

type Member = { user_id: number; role: string };

describe.each(targetKinds())('group roles and history visibility on %s', (kind) => {
  let c4: TestTarget;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind, { MAX_GROUP_MEMBERS: '8' }));
  }, startTimeoutMs);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await c4?.close();
  }, startTimeoutMs);

  const users = (n: number) => Promise.all(Array.from({ length: n }, () => c4.user('g')));
  const details = async (u: TestUser, id: number) => {
    const res = await c4.request('GET', `/v1/conversations/${id}`, { token: u.token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const roles = async (u: TestUser, id: number) =>
    Object.fromEntries((await details(u, id)).members.map((m: Member) => [m.user_id, m.role])) as Record<number, string>;
  const add = (by: TestUser, id: number, who: TestUser[]) =>
    c4.request('POST', `/v1/conversations/${id}/members`, { token: by.token, body: { user_ids: who.map((u) => u.id) } });
  const remove = (by: TestUser, id: number, who: TestUser) => c4.request('DELETE', `/v1/conversations/${id}/members/${who.id}`, { token: by.token });
  const setRole = (by: TestUser, id: number, who: TestUser | number, role: unknown) =>
    c4.request('PATCH', `/v1/conversations/${id}/members/${typeof who === 'number' ? who : who.id}`, { token: by.token, body: { role } });
  const update = (by: TestUser, id: number, body: unknown) => c4.request('PATCH', `/v1/conversations/${id}`, { token: by.token, body });
  const history = async (u: TestUser, id: number, qs = '') => {
    const res = await c4.request('GET', `/v1/conversations/${id}/messages${qs}`, { token: u.token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { messages: { seq: number }[]; total: number; has_more: boolean };
  };
  const seqs = (page: { messages: { seq: number }[] }) => page.messages.map((m) => m.seq);
  const listItem = async (u: TestUser, id: number) =>
    (await c4.request('GET', '/v1/conversations', { token: u.token })).body.items.find((i: { conversation_id: number }) => i.conversation_id === id);

  describe('roles', () => {
    it('makes the creator owner and everyone else member; only owners and admins add members (403 not-allowed, nothing changes)', async () => {
      const [owner, a, b, c, d] = await users(5);
      const id = await groupConversation(c4, owner, [a, b]);
      expect(await roles(a, id)).toEqual({ [owner.id]: 'owner', [a.id]: 'member', [b.id]: 'member' });

      const before = await tableCounts(c4);
      expectProblem(await add(a, id, [c]), 403, 'not-allowed');
      expect(await tableCounts(c4)).toEqual(before);

      expect((await setRole(owner, id, a, 'admin')).status).toBe(200);
      const added = await add(a, id, [c]);
      expect(added.status).toBe(200);
      expect(added.body.members).toContainEqual(expect.objectContaining({ user_id: c.id, role: 'member' }));
      expect((await add(owner, id, [d])).status).toBe(200);
    });

    it('lets the owner remove anyone, an admin remove members only, a member nobody but themselves', async () => {
      const [owner, admin1, admin2, m1, m2, m3] = await users(6);
      const id = await groupConversation(c4, owner, [admin1, admin2, m1, m2, m3]);
      await setRole(owner, id, admin1, 'admin');
      await setRole(owner, id, admin2, 'admin');

      expectProblem(await remove(m1, id, m2), 403, 'not-allowed');
      expectProblem(await remove(admin1, id, admin2), 403, 'not-allowed');
      expectProblem(await remove(admin1, id, owner), 403, 'not-allowed');
      expect((await remove(admin1, id, m1)).status).toBe(204);
      expect((await remove(owner, id, admin2)).status).toBe(204);
      expect((await remove(m2, id, m2)).status).toBe(204);
      expect((await remove(admin1, id, admin1)).status).toBe(204);
      expect(await roles(owner, id)).toEqual({ [owner.id]: 'owner', [m3.id]: 'member' });
    });

    it('changes roles only by the owner; role owner hands the group over and the previous owner becomes admin', async () => {
      const [owner, a, b, outsider] = await users(4);
      const id = await groupConversation(c4, owner, [a, b]);
      const promoted = await setRole(owner, id, a, 'admin');
      expect(promoted.status).toBe(200);
      expect(promoted.body.members).toContainEqual(expect.objectContaining({ user_id: a.id, role: 'admin' }));

      const before = await tableCounts(c4);
      expectProblem(await setRole(a, id, b, 'admin'), 403, 'not-allowed');
      expectProblem(await setRole(b, id, b, 'admin'), 403, 'not-allowed');
      expectProblem(await setRole(owner, id, owner, 'member'), 400, 'owner-role-change');
      expectProblem(await setRole(owner, id, b, 'superuser'), 400, 'validation-failed');
      expectProblem(await setRole(owner, id, outsider, 'admin'), 404, 'member-not-found');
      expectProblem(await setRole(outsider, id, b, 'admin'), 403, 'not-a-member');
      expect(await tableCounts(c4)).toEqual(before);
      expect(await roles(owner, id)).toEqual({ [owner.id]: 'owner', [a.id]: 'admin', [b.id]: 'member' });

      expect((await setRole(owner, id, b, 'owner')).status).toBe(200);
      expect(await roles(owner, id)).toEqual({ [owner.id]: 'admin', [a.id]: 'admin', [b.id]: 'owner' });
      expectProblem(await setRole(owner, id, a, 'member'), 403, 'not-allowed');
      expect((await setRole(b, id, a, 'member')).status).toBe(200);
      expect((await roles(b, id))[a.id]).toBe('member');

      const pair = await privateConversation(c4, owner, a);
      expectProblem(await setRole(owner, pair, a, 'admin'), 400, 'not-a-group');
    });

    it('passes ownership to the longest-standing admin when the owner leaves, else to the longest-standing member', async () => {
      const [owner, early1, early2, late] = await users(4);
      const id = await groupConversation(c4, owner, [early1, early2]);
      await add(owner, id, [late]);
      await setRole(owner, id, late, 'admin');
      const [socket] = await Promise.all([liveSocket(c4.wsUrl(early1.token))]);
      sockets.push(socket);
      await socket.next((f) => f.type === 'connected');

      // The admin wins over members who joined before them.
      expect((await remove(owner, id, owner)).status).toBe(204);
      expect(await roles(late, id)).toEqual({ [early1.id]: 'member', [early2.id]: 'member', [late.id]: 'owner' });
      const announced = await socket.next((f) => f.type === 'member.role_changed');
      expect(announced).toMatchObject({ conversation_id: id, user_id: late.id, username: late.username, role: 'owner' });

      // No admin left: the longest-standing member (joined together: the lower user id) takes over.
      expect((await remove(late, id, late)).status).toBe(204);
      const heir = Math.min(early1.id, early2.id);
      const other = heir === early1.id ? early2 : early1;
      expect(await roles(other, id)).toEqual({ [heir]: 'owner', [other.id]: 'member' });
      // The new owner can remove someone: a group never ends up without anyone able to.
      const heirUser = heir === early1.id ? early1 : early2;
      expect((await remove(heirUser, id, other)).status).toBe(204);
    });
  });

  it('documents the group routes, roles and history_visibility in /openapi.json', async () => {
    const doc = (await c4.request('GET', '/openapi.json')).body;
    const json = (v: unknown) => JSON.stringify(v);
    expect(json(doc.paths['/v1/conversations/{id}'].patch.requestBody)).toContain('history_visibility');
    expect(json(doc.paths['/v1/conversations/{id}/members/{user_id}'].patch.requestBody)).toMatch(/"owner".*"admin".*"member"/);
    expect(json(doc.paths['/v1/conversations'].post.requestBody)).toContain('history_visibility');
    expect(json(doc.paths['/v1/conversations/{id}'].get.responses['200'])).toMatch(/history_visibility.*role/);
  });

  describe('history_visibility', () => {
    it('defaults to shared: a newcomer reads the earlier history', async () => {
      const [owner, a, b, late] = await users(4);
      const id = await groupConversation(c4, owner, [a, b]);
      expect((await details(owner, id)).history_visibility).toBe('shared');
      await send(c4, owner.token, id, 'one');
      await send(c4, owner.token, id, 'two');
      await add(owner, id, [late]);
      const page = await history(late, id);
      expect(seqs(page)).toEqual([2, 1]);
      expect(page.total).toBe(2);
      expect((await listItem(late, id)).unread_count).toBe(2);
    });

    it('joined: a newcomer sees only messages from their join, in history, details, the list, unread counts, reads and sync', async () => {
      const [owner, a, b, late] = await users(4);
      const created = await c4.request('POST', '/v1/conversations', {
        token: owner.token,
        body: { type: 'group', name: 'private club', member_ids: [a.id, b.id], history_visibility: 'joined' },
      });
      expect(created.status).toBe(201);
      expect(created.body.history_visibility).toBe('joined');
      const id = created.body.conversation_id;
      const early = [await send(c4, owner.token, id, 'before 1'), await send(c4, a.token, id, 'before 2')];
      await add(owner, id, [late]);

      // Nothing visible yet: no preview of the earlier messages, no unread.
      expect(await listItem(late, id)).toMatchObject({
        last_seq: 2,
        unread_count: 0,
        last_message_content: null,
        last_message_sender: null,
        last_message_timestamp: null,
      });
      expect(await history(late, id)).toMatchObject({ messages: [], total: 0, has_more: false });

      const after = await send(c4, owner.token, id, 'after');
      expect(after.seq).toBe(3);
      expect(seqs(await history(late, id))).toEqual([3]);
      expect((await history(late, id)).total).toBe(1);
      expect(seqs(await history(late, id, '?after_seq=0'))).toEqual([3]);
      expect((await history(late, id, '?after_seq=0')).total).toBe(1);
      expect(await history(late, id, '?before_seq=3')).toMatchObject({ messages: [], total: 0 });
      expect(seqs(await history(late, id, '?before_seq=4'))).toEqual([3]);
      expect(seqs(await history(owner, id))).toEqual([3, 2, 1]);

      for (const m of early) expectProblem(await c4.request('GET', `/v1/messages/${m.message_id}`, { token: late.token }), 404, 'message-not-found');
      expect((await c4.request('GET', `/v1/messages/${after.message_id}`, { token: late.token })).status).toBe(200);
      // The earlier messages' recipients are the members who can see them.
      const earlyDetails = await c4.request('GET', `/v1/messages/${early[0].message_id}`, { token: owner.token });
      expect(earlyDetails.body.statuses.recipients.map((r: { user_id: number }) => r.user_id).sort()).toEqual([a.id, b.id].sort());

      expect(await listItem(late, id)).toMatchObject({ unread_count: 1, last_message_content: 'after', last_message_sender: owner.username });
      const socket = await liveSocket(c4.wsUrl(late.token));
      sockets.push(socket);
      await socket.next((f) => f.type === 'connected');
      socket.send({ action: 'sync', since: { [id]: 0 } });
      const synced = await socket.next((f) => f.type === 'synced');
      expect(
        socket.frames
          .slice(0, socket.frames.indexOf(synced))
          .filter((f) => f.type === 'message.created')
          .map((f) => f.seq),
      ).toEqual([3]);

      const read = await c4.request('POST', `/v1/conversations/${id}/read`, { token: late.token });
      expect(read.body).toMatchObject({ read_seq: 3, messages_marked_read: 1 });
    });

    it('joined: settles earlier messages without the newcomers who cannot see them', async () => {
      const [owner, a, b, late] = await users(4);
      const created = await c4.request('POST', '/v1/conversations', {
        token: owner.token,
        body: { type: 'group', member_ids: [a.id, b.id], history_visibility: 'joined' },
      });
      const id = created.body.conversation_id;
      const first = await send(c4, owner.token, id, 'before');
      const status = async () => (await c4.request('GET', `/v1/messages/${first.message_id}`, { token: owner.token })).body.status;
      await eventually(async () => (await status()) !== 'accepted');
      await add(owner, id, [late]);
      await c4.request('POST', `/v1/conversations/${id}/read`, { token: a.token });
      await c4.request('POST', `/v1/conversations/${id}/read`, { token: b.token });
      await eventually(async () => (await status()) === 'read');
    });

    it('is changed by owners and admins with PATCH, which also renames; members get 403 not-allowed', async () => {
      const [owner, admin, member, late] = await users(4);
      const id = await groupConversation(c4, owner, [admin, member]);
      await setRole(owner, id, admin, 'admin');
      await send(c4, owner.token, id, 'old news');
      await add(owner, id, [late]);
      expect((await history(late, id)).total).toBe(1);

      const before = await tableCounts(c4);
      expectProblem(await update(member, id, { history_visibility: 'joined' }), 403, 'not-allowed');
      expectProblem(await update(admin, id, {}), 400, 'validation-failed');
      expectProblem(await update(admin, id, { history_visibility: 'invited' }), 400, 'validation-failed');
      expectProblem(await update(admin, id, { name: '' }), 400, 'validation-failed');
      expect(await tableCounts(c4)).toEqual(before);
      expect((await details(owner, id)).history_visibility).toBe('shared');

      const changed = await update(admin, id, { history_visibility: 'joined', name: 'renamed', description: 'now private' });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ history_visibility: 'joined', name: 'renamed', description: 'now private' });
      expect((await history(late, id)).total).toBe(0);
      expect(seqs(await history(owner, id))).toEqual([1]);

      // The setting applies to the whole history at read time: back to shared, the newcomer sees it again.
      expect((await update(owner, id, { history_visibility: 'shared' })).body).toMatchObject({ history_visibility: 'shared', name: 'renamed' });
      expect(seqs(await history(late, id))).toEqual([1]);
    });

    it('is a setting of groups only (400 not-a-group for private conversations)', async () => {
      const [alice, bob, carol] = await users(3);
      const before = await tableCounts(c4);
      expectProblem(
        await c4.request('POST', '/v1/conversations', { token: alice.token, body: { type: 'private', member_ids: [bob.id], history_visibility: 'joined' } }),
        400,
        'not-a-group',
      );
      expect(await tableCounts(c4)).toEqual(before);
      const id = await privateConversation(c4, alice, carol);
      expectProblem(await update(alice, id, { history_visibility: 'joined' }), 400, 'not-a-group');
      expect((await details(alice, id)).history_visibility).toBe('shared');
    });
  });
});
