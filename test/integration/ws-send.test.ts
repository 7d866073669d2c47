/**
 * Sending over the WebSocket (`{action:"send"}` → `send.ack` or an error naming the message): the
 * same validation, idempotency, membership and per-user rate limit as POST /v1/messages, on the
 * embedded store and on PostgreSQL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, uuid, type TestInstance, type TestSocket } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';
import { liveSocket, privateConversation, tableCounts, type TestUser } from '../support/factories.ts';

// High enough for the other cases' POSTs by one user; the rate-limit case spends it all.
const SEND_PER_MINUTE = 20;

describe.each(storeKinds())('sending over the WebSocket on %s', (kind) => {
  let c4: TestInstance;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    c4 = await startInstance(kind, {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_SEND_PER_MINUTE: String(SEND_PER_MINUTE),
      RATE_LIMIT_AUTH_PER_MINUTE: '1000',
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await c4?.close();
  });

  const connect = async (user: TestUser) => {
    const socket = await liveSocket(c4.wsUrl(user.token));
    sockets.push(socket);
    await socket.next((f) => f.type === 'connected');
    return socket;
  };
  /** Sends a `send` frame and resolves with its answer (ack or error) for that message_id. */
  const sendFrame = (socket: TestSocket, frame: Record<string, unknown>) => {
    socket.send({ action: 'send', ...frame });
    return socket.next((f) => (f.type === 'send.ack' || f.type === 'error') && f.message_id === frame.message_id);
  };
  const pair = async () => {
    const [alice, bob] = [await c4.user('alice'), await c4.user('bob')];
    return { alice, bob, conversationId: await privateConversation(c4, alice, bob) };
  };

  it('acknowledges with the seq and created_at, and the recipient gets the message', async () => {
    const { alice, bob, conversationId } = await pair();
    const [aliceSocket, bobSocket] = [await connect(alice), await connect(bob)];
    const id = uuid();
    const ack = await sendFrame(aliceSocket, { message_id: id, conversation_id: conversationId, payload: { type: 'text', content: 'hi over ws' } });
    expect(ack).toEqual({
      type: 'send.ack',
      message_id: id,
      conversation_id: conversationId,
      seq: 1,
      created_at: expect.stringMatching(/Z$/),
      timestamp: expect.any(String),
    });
    const pushed = await bobSocket.next((f) => f.type === 'message.created' && f.message_id === id);
    expect(pushed).toMatchObject({
      conversation_id: conversationId,
      seq: 1,
      sender_id: alice.id,
      sender_username: alice.username,
      payload: { type: 'text', content: 'hi over ws' },
    });
    // The same message as POST would have stored it.
    const history = await c4.request('GET', `/v1/conversations/${conversationId}/messages`, { token: bob.token });
    expect(history.body.messages.map((m: { message_id: string; seq: number }) => [m.message_id, m.seq])).toEqual([[id, 1]]);
    // A sender's own socket hears it too (its other tabs do).
    await aliceSocket.next((f) => f.type === 'message.created' && f.message_id === id);
  });

  it('answers a retry with the original ack and replayed: true, and a different body with 409 idempotency-conflict', async () => {
    const { alice, conversationId } = await pair();
    const socket = await connect(alice);
    const id = uuid();
    const body = { message_id: id, conversation_id: conversationId, payload: { type: 'text', content: 'once' } };
    const first = await sendFrame(socket, body);
    expect(first.type).toBe('send.ack');
    socket.frames.length = 0;
    const replay = await sendFrame(socket, body);
    expect(replay).toMatchObject({ type: 'send.ack', seq: first.seq, created_at: first.created_at, replayed: true });
    // POST with the same id and body is the same message too; the two transports share the idempotency.
    const viaHttp = await c4.request('POST', '/v1/messages', { token: alice.token, body });
    expect(viaHttp.status).toBe(202);
    expect(viaHttp.headers['idempotent-replayed']).toBe('true');
    socket.frames.length = 0;
    const conflict = await sendFrame(socket, { ...body, payload: { type: 'text', content: 'changed' } });
    expect(conflict).toMatchObject({ type: 'error', message_id: id, code: 'idempotency-conflict', detail: expect.any(String) });
    const [row] = await c4.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [conversationId]);
    expect(row.n).toBe(1);
  });

  it('refuses a non-member with 403 not-a-member and an unknown conversation with 404, storing nothing', async () => {
    const { conversationId } = await pair();
    const mallory = await c4.user('mallory');
    const socket = await connect(mallory);
    const before = await tableCounts(c4);
    const id = uuid();
    expect(await sendFrame(socket, { message_id: id, conversation_id: conversationId, payload: { type: 'text', content: 'let me in' } })).toMatchObject({
      type: 'error',
      message_id: id,
      code: 'not-a-member',
    });
    const other = uuid();
    const missing = await sendFrame(socket, { message_id: other, conversation_id: 999_999_999, payload: { type: 'text', content: 'anyone?' } });
    expect(missing).toMatchObject({ type: 'error', message_id: other });
    const viaHttp = await c4.request('POST', '/v1/messages', {
      token: mallory.token,
      body: { message_id: uuid(), conversation_id: 999_999_999, payload: { type: 'text', content: 'anyone?' } },
    });
    expect(missing.code).toBe(viaHttp.body.code);
    expect(await tableCounts(c4)).toEqual(before);
    expect(socket.closeCode).toBeUndefined();
  });

  it('refuses invalid payloads with the codes POST uses (validation-failed, invalid-text), naming the message', async () => {
    const { alice, conversationId } = await pair();
    const socket = await connect(alice);
    const before = await tableCounts(c4);
    const cases: [Record<string, unknown>, string][] = [
      [{ payload: { type: 'text', content: '' } }, 'validation-failed'],
      [{ payload: { type: 'video', url: 'x' } }, 'validation-failed'],
      [{ payload: { type: 'text', content: 'a\u0000b' } }, 'invalid-text'],
      [{ payload: { type: 'text', content: 'x'.repeat(5000) } }, 'validation-failed'],
      [{ payload: { type: 'text', content: 'ok' }, channels: ['carrier-pigeon'] }, 'validation-failed'],
      [{ payload: { type: 'text', content: 'ok' }, conversation_id: '1' }, 'validation-failed'],
      [{ payload: { type: 'text', content: 'ok' }, extra: true }, 'validation-failed'],
    ];
    for (const [fields, code] of cases) {
      const id = uuid();
      const body = { message_id: id, conversation_id: conversationId, ...fields };
      const answer = await sendFrame(socket, body);
      expect(answer, JSON.stringify(fields)).toMatchObject({ type: 'error', message_id: id, code, detail: expect.any(String) });
      if (!('extra' in fields)) {
        // POST refuses the same body with the same code (POST drops unknown fields; a frame may not carry them).
        const viaHttp = await c4.request('POST', '/v1/messages', { token: alice.token, body });
        expect(viaHttp.status, JSON.stringify(fields)).toBe(400);
        expect(viaHttp.body.code, JSON.stringify(fields)).toBe(code);
      }
    }
    // Without a usable message_id the error still comes, without one.
    socket.send({ action: 'send', message_id: 'not-a-uuid', conversation_id: conversationId, payload: { type: 'text', content: 'x' } });
    expect(await socket.next((f) => f.type === 'error' && f.message_id === 'not-a-uuid')).toMatchObject({ code: 'validation-failed' });
    expect(await tableCounts(c4)).toEqual(before);
    expect(socket.closeCode).toBeUndefined();
  });

  it('sends a file message once the file is uploaded, like POST', async () => {
    const { alice, bob, conversationId } = await pair();
    const [aliceSocket, bobSocket] = [await connect(alice), await connect(bob)];
    const data = randomBytes(1000);
    const init = await c4.request('POST', '/v1/files/initiate', {
      token: alice.token,
      body: {
        filename: 'a.bin',
        file_size: data.length,
        mime_type: 'application/octet-stream',
        chunk_size: 1024 * 1024,
        checksum_sha256: createHash('sha256').update(data).digest('hex'),
      },
    });
    expect(init.status, JSON.stringify(init.body)).toBe(201);
    const fileId = init.body.upload_id as string;
    const early = uuid();
    expect(await sendFrame(aliceSocket, { message_id: early, conversation_id: conversationId, payload: { type: 'file', file_id: fileId } })).toMatchObject({
      type: 'error',
      code: 'file-not-found',
    });
    const chunk = await c4.request('POST', `/v1/files/${fileId}/chunks?chunk_number=1`, {
      token: alice.token,
      body: data,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(chunk.status).toBe(200);
    expect((await c4.request('POST', `/v1/files/${fileId}/complete`, { token: alice.token, body: {} })).body.status).toBe('completed');
    const id = uuid();
    expect(await sendFrame(aliceSocket, { message_id: id, conversation_id: conversationId, payload: { type: 'file', file_id: fileId } })).toMatchObject({
      type: 'send.ack',
      seq: 1,
    });
    const pushed = await bobSocket.next((f) => f.type === 'message.created' && f.message_id === id);
    expect(pushed.payload).toMatchObject({ type: 'file', file_id: fileId, filename: 'a.bin', size_bytes: 1000 });
  });

  it(`counts WebSocket sends in the same per-user limit as POST (${SEND_PER_MINUTE} a minute) and answers rate-limited with retry_after`, async () => {
    const { alice, conversationId } = await pair();
    const socket = await connect(alice);
    const text = (content: string) => ({ conversation_id: conversationId, payload: { type: 'text', content } });
    // Half the budget over HTTP, the rest over the socket: both count.
    for (let i = 0; i < SEND_PER_MINUTE / 2; i++) {
      expect((await c4.request('POST', '/v1/messages', { token: alice.token, body: { message_id: uuid(), ...text(`http ${i}`) } })).status).toBe(202);
    }
    for (let i = 0; i < SEND_PER_MINUTE / 2; i++) expect((await sendFrame(socket, { message_id: uuid(), ...text(`ws ${i}`) })).type).toBe('send.ack');
    const refusedId = uuid();
    const refused = await sendFrame(socket, { message_id: refusedId, ...text('one too many') });
    expect(refused).toMatchObject({ type: 'error', message_id: refusedId, code: 'rate-limited', retry_after: expect.any(Number) });
    expect(refused.retry_after).toBeGreaterThan(0);
    expect(refused.retry_after).toBeLessThanOrEqual(60);
    // And the socket's sends used up POST's budget.
    expect((await c4.request('POST', '/v1/messages', { token: alice.token, body: { message_id: uuid(), ...text('http again') } })).status).toBe(429);
    const [row] = await c4.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [conversationId]);
    expect(row.n).toBe(SEND_PER_MINUTE);
    expect(socket.closeCode).toBeUndefined();
  });
});
