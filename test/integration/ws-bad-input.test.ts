/**
 * Hostile WebSocket frames: every action fed NUL, lone surrogates, bidi controls, huge integers,
 * floats, negative numbers and wrong types gets one `error` frame with a client-error code and
 * changes nothing; one client's bad frame never costs another client its work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, type TestInstance, TestSocket, eventually } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';
import { privateConversation, send, tableCounts } from '../support/factories.ts';

const CLIENT_ERRORS = ['invalid-frame', 'invalid-text', 'unknown-action'];

/** Hostile values as raw JSON text (so that integers beyond doubles reach the server as written). */
const HOSTILE: Record<string, string> = {
  nul: '"\\u0000"',
  'lone high surrogate': '"\\ud800"',
  'lone low surrogate': '"\\udfff"',
  'bidi override': '"\\u202e1"',
  '1e300': '1e300',
  '2^53': '9007199254740992',
  'beyond bigint': '9223372036854775808',
  '20 digits': '99999999999999999999',
  float: '1.5',
  negative: '-1',
  'number as text': '"5"',
  boolean: 'true',
  null: 'null',
  array: '[1]',
  object: '{"1":1}',
  'huge object': JSON.stringify(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i]))),
};

/** Frames putting `v` into every field of every action, and into the action name itself. */
function hostileFrames(conversationId: number): string[] {
  const frames: string[] = [];
  for (const v of Object.values(HOSTILE)) {
    const key = v.startsWith('"') ? v : JSON.stringify(v);
    frames.push(
      `{"action":"subscribe","conversation_id":${v}}`,
      `{"action":"unsubscribe","conversation_id":${v}}`,
      `{"type":"subscribe","conversation_id":${v}}`,
      `{"action":"ack","conversation_id":${v},"seq":1}`,
      `{"action":"ack","conversation_id":${conversationId},"seq":${v}}`,
      `{"action":"sync","since":{"${conversationId}":${v}}}`,
      `{"action":"pong","seq":${v}}`,
      `{"action":"ping","data":${v}}`,
      `{"action":${v}}`,
    );
    // A key that is a conversation id (here "5") is valid: only the others are hostile keys.
    if (!/^"[1-9]\d*"$/.test(key)) frames.push(`{"action":"sync","since":{${key}:1}}`);
    // `since` must be an object; an object value is a valid shape, its keys are tested above.
    if (!v.startsWith('{')) frames.push(`{"action":"sync","since":${v}}`);
  }
  for (const action of ['ack', 'sync', 'subscribe', 'pong'])
    frames.push(`{"action":"${action}\\u0000"}`, `{"action":"\\ud83d${action}"}`, `{"action":"${action}\\u202e"}`);
  frames.push('{"action":"ack","conversation_id":1}', '{"action":"subscribe"}', '[]', '"sync"', '{"action":"sync"', '');
  return frames;
}

describe.each(storeKinds())('WebSocket bad input on %s', (kind) => {
  let c4: TestInstance;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    // The fuzz sends its frames as fast as answers come: no throttling in the way.
    c4 = await startInstance(kind, { WS_FRAMES_PER_SECOND: '100000', WS_FRAME_BURST: '100000' });
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await c4?.close();
  }, 60_000);

  const connect = async (token: string) => {
    const socket = await TestSocket.connect(c4.wsUrl(token));
    sockets.push(socket);
    await socket.next((f) => f.type === 'connected');
    return socket;
  };
  const cursors = () =>
    c4.query('SELECT conversation_id, user_id, delivered_seq, read_seq, delivered_at, read_at FROM members ORDER BY conversation_id, user_id');

  it('answers every hostile frame of every action with one client-error frame and changes nothing in the database', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    const id = await privateConversation(c4, alice, bob);
    for (let i = 1; i <= 3; i++) await send(c4, alice.token, id, `m${i}`);
    const bobWs = await connect(bob.token);
    await c4.app.receipts.drain();
    const before = { counts: await tableCounts(c4), cursors: await cursors() };

    const frames = hostileFrames(id);
    for (const [n, text] of frames.entries()) {
      bobWs.ws.send(text);
      const answer = await bobWs.next((f) => f.type === 'error' && bobWs.ofType('error').indexOf(f) === n);
      expect(CLIENT_ERRORS, `${text.slice(0, 120)} → ${JSON.stringify(answer)}`).toContain(answer.code);
      expect(answer.error).toEqual(expect.any(String));
    }
    // Nothing but the answers: no subscription changes, no sync output, no internal failures.
    bobWs.send({ action: 'ping' });
    await bobWs.next((f) => f.type === 'pong');
    expect(bobWs.frames.filter((f) => !['connected', 'error', 'pong', 'ping'].includes(f.type)).map((f) => f.type)).toEqual([]);
    expect(bobWs.ofType('error')).toHaveLength(frames.length);
    expect(bobWs.closeCode).toBeUndefined();

    await c4.app.receipts.drain();
    expect({ counts: await tableCounts(c4), cursors: await cursors() }).toEqual(before);
    // The socket still works: a valid ack after all that moves the cursor.
    bobWs.send({ action: 'ack', conversation_id: id, seq: 3 });
    await eventually(
      async () => (await c4.query('SELECT delivered_seq FROM members WHERE conversation_id = $1 AND user_id = $2', [id, bob.id]))[0].delivered_seq == 3,
    );
  });

  it('lists the failing field of an invalid frame', async () => {
    const u = await c4.user('u');
    const socket = await connect(u.token);
    socket.ws.send('{"action":"ack","conversation_id":1e300,"seq":1}');
    expect(await socket.next((f) => f.type === 'error')).toEqual({
      type: 'error',
      code: 'invalid-frame',
      error: expect.any(String),
      errors: [{ path: '/conversation_id', message: expect.any(String) }],
      timestamp: expect.any(String),
    });
  });

  it("keeps another member's ack when one sends an ack of 1e300 in the same batch: the sender still gets delivered", async () => {
    const [alice, bob, mallory] = await Promise.all(['alice', 'bob', 'mallory'].map((p) => c4.user(p)));
    const id = await privateConversation(c4, alice, bob);
    const mine = await privateConversation(c4, alice, mallory);
    const aliceWs = await connect(alice.token);
    const bobWs = await connect(bob.token);
    const malloryWs = await connect(mallory.token);
    const sent = await send(c4, alice.token, id, 'hello bob');
    await send(c4, alice.token, mine, 'hello mallory');
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === sent.message_id && f.status === 'sent');

    // Sent together, so that both would fall into one ack batch.
    malloryWs.ws.send(`{"action":"ack","conversation_id":${mine},"seq":1e300}`);
    bobWs.send({ action: 'ack', conversation_id: id, seq: 1 });
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === sent.message_id && f.status === 'delivered');
    expect(await malloryWs.next((f) => f.type === 'error')).toMatchObject({ code: 'invalid-frame' });
    const [row] = await c4.query('SELECT delivered_seq FROM members WHERE conversation_id = $1 AND user_id = $2', [mine, mallory.id]);
    expect(Number(row.delivered_seq)).toBe(0);
  });

  it('applies a failing ack batch ack by ack: the ack the database refuses costs only itself', async () => {
    const [alice, bob, mallory] = await Promise.all(['alice', 'bob', 'mallory'].map((p) => c4.user(p)));
    const id = await privateConversation(c4, alice, bob);
    const mine = await privateConversation(c4, alice, mallory);
    await send(c4, alice.token, id, 'hello bob');
    await send(c4, alice.token, mine, 'hello mallory');
    // Past the gateway's validation (an internal caller): PostgreSQL refuses 1e300 as a bigint.
    const batch = c4.app.receipts.acknowledgeMany([
      { userId: mallory.id, conversationId: mine, seq: 1e300 },
      { userId: bob.id, conversationId: id, seq: 1 },
    ]);
    await expect(batch).rejects.toThrow('1 of 2 acks could not be applied');
    const delivered = await c4.query('SELECT user_id, delivered_seq FROM members WHERE user_id = ANY($1::bigint[])', [[bob.id, mallory.id]]);
    expect(Object.fromEntries(delivered.map((r) => [r.user_id, Number(r.delivered_seq)]))).toEqual({ [bob.id]: 1, [mallory.id]: 0 });
    expect(() => c4.app.receipts.queueAck({ userId: mallory.id, conversationId: mine, seq: 1e300 })).toThrow(expect.objectContaining({ code: 'invalid-ack' }));
  });
});
