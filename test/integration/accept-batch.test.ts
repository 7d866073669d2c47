/**
 * Group commit of accepts: concurrent sends of one process are committed by one statement, and each
 * request still gets its own answer (accepted, replayed, 409, 403, 404).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { eventually, startInstance, uuid, type TestInstance } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';

type User = { id: number; token: string };

describe.each(storeKinds())('group commit of sends on %s', (kind) => {
  let c4: TestInstance;
  beforeAll(async () => {
    // A long window, so that requests fired together land in one batch; small batches, so that a
    // burst spans several.
    c4 = await startInstance(kind, { ACCEPT_BATCH_MAX_WAIT_MS: '400', ACCEPT_BATCH_MAX: '16' });
  });
  afterAll(async () => c4?.close());

  const text = (conversationId: number, content: string, messageId = uuid()) => ({
    message_id: messageId,
    conversation_id: conversationId,
    payload: { type: 'text', content },
  });
  const post = (u: User, body: unknown) => c4.request('POST', '/v1/messages', { token: u.token, body });
  const conversation = async (owner: User, others: User[]) => {
    const body = others.length === 1 ? { type: 'private', member_ids: [others[0].id] } : { type: 'group', name: 'g', member_ids: others.map((o) => o.id) };
    const res = await c4.request('POST', '/v1/conversations', { token: owner.token, body });
    expect(res.status).toBe(201);
    return res.body.conversation_id as number;
  };
  /** Commits that wrote these messages, told apart by their transaction's now() (the pipeline rewrites the rows, so not xmin). */
  const commits = async (ids: string[]) =>
    (await c4.query<{ t: string }>('SELECT DISTINCT created_at::text AS t FROM messages WHERE id = ANY($1::uuid[])', [ids])).map((r) => r.t);
  const storedSeqs = async (conversationId: number) =>
    (await c4.query<{ seq: number }>('SELECT seq FROM messages WHERE conversation_id = $1 ORDER BY seq', [conversationId])).map((r) => Number(r.seq));
  const outboxRows = async (ids: string[]) =>
    (await c4.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE payload->>'message_id' = ANY($1::text[])`, [ids]))[0].n;
  const cursor = async (conversationId: number, userId: number) =>
    (
      await c4.query<{ d: number; r: number }>('SELECT delivered_seq AS d, read_seq AS r FROM members WHERE conversation_id = $1 AND user_id = $2', [
        conversationId,
        userId,
      ])
    )[0];

  it('answers each request of a mixed batch on its own: valid sends, a non-member, a conflict, a replay, an unknown conversation', async () => {
    const [alice, bob, carol] = [await c4.user('alice'), await c4.user('bob'), await c4.user('carol')];
    const pair = await conversation(alice, [bob]);
    const group = await conversation(alice, [bob, carol]);
    const first = text(pair, 'first');
    expect((await post(alice, first)).status).toBe(202);

    const valid = [text(pair, 'a1'), text(pair, 'a2'), text(group, 'g1')];
    const fromBob = text(pair, 'b1');
    const [r1, r2, r3, rBob, rCarol, rConflict, rReplay, rUnknown] = await Promise.all([
      post(alice, valid[0]),
      post(alice, valid[1]),
      post(alice, valid[2]),
      post(bob, fromBob),
      post(carol, text(pair, 'not mine')),
      post(alice, text(pair, 'edited', first.message_id)),
      post(alice, first),
      post(alice, text(999_999_999, 'nowhere')),
    ]);

    for (const r of [r1, r2, r3, rBob]) expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(rCarol.status).toBe(403);
    expect(rCarol.body.code).toBe('not-a-member');
    expect(rConflict.status).toBe(409);
    expect(rConflict.body.code).toBe('idempotency-conflict');
    expect(rReplay.status).toBe(202);
    expect(rReplay.headers['idempotent-replayed']).toBe('true');
    expect(rReplay.body.seq).toBe(1);
    expect(rUnknown.status).toBe(404);

    // The four valid sends were committed together, with gap-free seqs in each conversation.
    const accepted = [r1, r2, r3, rBob].map((r) => r.body.message_id as string);
    expect(await commits(accepted)).toHaveLength(1);
    expect([r1, r2, rBob].map((r) => r.body.seq).sort()).toEqual([2, 3, 4]);
    expect(r3.body.seq).toBe(1);
    expect(await storedSeqs(pair)).toEqual([1, 2, 3, 4]);
    expect(await storedSeqs(group)).toEqual([1]);
    expect(await outboxRows([...accepted, first.message_id])).toBe(5);
    const [conv] = await c4.query<{ last_seq: number }>('SELECT last_seq FROM conversations WHERE id = $1', [pair]);
    expect(Number(conv.last_seq)).toBe(4);
    // Every answer is what was stored.
    for (const r of [r1, r2, r3, rBob]) {
      const [row] = await c4.query<{ seq: number }>('SELECT seq FROM messages WHERE id = $1', [r.body.message_id]);
      expect(Number(row.seq)).toBe(r.body.seq);
    }
  });

  it('takes the same message_id twice in one batch once: a replay for the same body, a 409 for another', async () => {
    const [alice, bob] = [await c4.user('alice'), await c4.user('bob')];
    const pair = await conversation(alice, [bob]);
    const twice = text(pair, 'twice');
    const clash = uuid();
    const answers = await Promise.all([post(alice, twice), post(alice, twice), post(alice, text(pair, 'one', clash)), post(alice, text(pair, 'two', clash))]);

    const [a, b] = answers;
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.seq).toBe(b.body.seq);
    expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].filter(Boolean)).toEqual(['true']);
    expect(
      answers
        .slice(2)
        .map((r) => r.status)
        .sort(),
    ).toEqual([202, 409]);
    expect(await storedSeqs(pair)).toEqual([1, 2]);
    expect(await outboxRows([twice.message_id, clash])).toBe(2);
  });

  it("moves a sender's cursors over its own messages only while it is caught up", async () => {
    const [alice, bob] = [await c4.user('alice'), await c4.user('bob')];
    const pair = await conversation(alice, [bob]);
    expect((await post(alice, text(pair, 'unread by bob'))).status).toBe(202);
    const [fromAlice, bob1, bob2] = await Promise.all([post(alice, text(pair, 'a')), post(bob, text(pair, 'b1')), post(bob, text(pair, 'b2'))]);
    expect(await commits([fromAlice, bob1, bob2].map((r) => r.body.message_id))).toHaveLength(1);
    // Bob has not read seq 1: his own messages must not mark it read.
    expect(await cursor(pair, bob.id)).toEqual({ d: 0, r: 0 });
    // Alice was caught up at 1: she moves to her new seq only if it came right after.
    const aliceSeq = fromAlice.body.seq as number;
    const expected = aliceSeq === 2 ? 2 : 1;
    expect(await cursor(pair, alice.id)).toEqual({ d: expected, r: expected });

    // A caught-up sender moves over a whole run of its own messages in one batch.
    const solo = await conversation(alice, [await c4.user('dan')]);
    const runs = await Promise.all([1, 2, 3].map((i) => post(alice, text(solo, `run ${i}`))));
    expect(runs.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(await cursor(solo, alice.id)).toEqual({ d: 3, r: 3 });
  });

  it('keeps seqs gap-free per conversation under a burst of concurrent sends spanning many batches', async () => {
    const [alice, bob, carol] = [await c4.user('alice'), await c4.user('bob'), await c4.user('carol')];
    const convs = [await conversation(alice, [bob]), await conversation(alice, [carol]), await conversation(alice, [bob, carol])];
    const sends = Array.from({ length: 120 }, (_, i) => {
      const conv = convs[i % convs.length];
      const sender = i % 2 === 0 || conv === convs[0] ? alice : conv === convs[1] ? carol : bob;
      return post(sender, text(conv, `burst ${i}`));
    });
    const answers = await Promise.all(sends);
    expect(answers.every((r) => r.status === 202)).toBe(true);
    for (const conv of convs) {
      const seqs = answers.filter((r) => r.body.conversation_id === conv).map((r) => r.body.seq as number);
      expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(await storedSeqs(conv)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
    // At most 16 per commit: the burst took several.
    expect((await commits(answers.map((r) => r.body.message_id))).length).toBeGreaterThanOrEqual(120 / 16);
  });

  it.runIf(kind === 'postgres')('answers every request of a batch that failed: each is retried alone', async () => {
    const [alice, bob] = [await c4.user('alice'), await c4.user('bob')];
    const pair = await conversation(alice, [bob]);
    const elsewhere = await conversation(alice, [await c4.user('erin')]);
    // Another transaction inserts the id the batch is about to insert, and commits once the batch
    // waits for it: the batch statement fails with a unique violation.
    const taken = uuid();
    const other = new pg.Client({ connectionString: c4.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO messages (id, conversation_id, seq, sender_id, payload, channels, request_hash) VALUES ($1, $2, 1000, $3, '{"type":"text","content":"x"}', '{internal}', 'other')`,
        [taken, elsewhere, alice.id],
      );
      const pending = Promise.all([post(alice, text(pair, 'ok 1')), post(alice, text(pair, 'clash', taken)), post(bob, text(pair, 'ok 2'))]);
      await eventually(async () => {
        const [row] = await c4.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        return row.n > 0;
      });
      await other.query('COMMIT');
      const [ok1, clash, ok2] = await pending;
      expect(ok1.status).toBe(202);
      expect(ok2.status).toBe(202);
      expect(clash.status).toBe(409);
      expect([ok1.body.seq, ok2.body.seq].sort()).toEqual([1, 2]);
      expect(await storedSeqs(pair)).toEqual([1, 2]);
    } finally {
      await other.end();
    }
  });
});
