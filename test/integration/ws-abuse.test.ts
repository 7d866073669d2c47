/**
 * WebSocket clients that flood, that stop reading, and sockets during a database outage: the
 * server bounds what one socket costs, and tells clients to come back rather than to sign out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { startInstance, type TestInstance, TestSocket, eventually } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';
import { liveSocket, privateConversation, send } from '../support/factories.ts';

const BURST = 30;
const HIGH_WATER = 64 * 1024;

describe.each(storeKinds())('WebSocket abuse on %s', (kind) => {
  let c4: TestInstance;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    c4 = await startInstance(kind, {
      WS_FRAMES_PER_SECOND: '5',
      WS_FRAME_BURST: String(BURST),
      WS_HIGH_WATER_BYTES: String(HIGH_WATER),
      WS_DRAIN_TIMEOUT_MS: '2000',
    });
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await c4?.close();
  }, 60_000);

  const connect = async (token: string) => {
    const socket = await liveSocket(c4.wsUrl(token));
    sockets.push(socket);
    await socket.next((f) => f.type === 'connected');
    return socket;
  };
  /** The server's side of the sockets opened by `open`. */
  const serverSocketsOf = async (open: () => Promise<unknown>): Promise<WebSocket[]> => {
    const before = new Set(c4.server.websocketServer.clients);
    await open();
    return [...c4.server.websocketServer.clients].filter((s) => !before.has(s));
  };

  it('answers a flood with one rate-limited frame, closes the socket with 1008 if it goes on, and spares other sockets', async () => {
    const flooder = await c4.user('flood');
    const neighbour = await c4.user('calm');
    const floodWs = await connect(flooder.token);
    const calmWs = await connect(neighbour.token);
    for (let i = 0; i < 10 * BURST; i++) floodWs.send({ action: 'ping' });
    expect(await floodWs.closed()).toBe(1008);
    const limited = floodWs.ofType('error');
    expect(limited).toEqual([
      { type: 'error', code: 'rate-limited', error: expect.any(String), retry_after: expect.any(Number), timestamp: expect.any(String) },
    ]);
    // The burst, and what refilled meanwhile; the rest was dropped.
    expect(floodWs.ofType('pong').length).toBeLessThan(2 * BURST);
    calmWs.send({ action: 'ping' });
    await calmWs.next((f) => f.type === 'pong');
    expect(calmWs.closeCode).toBeUndefined();
  });

  it('closes with 1008 a socket that floods from its first byte, before authentication has ended', async () => {
    const u = await c4.user('eager');
    const socket = await TestSocket.connect(c4.wsUrl(u.token));
    sockets.push(socket);
    for (let i = 0; i < 10 * BURST; i++) socket.send({ action: 'ping' });
    expect(await socket.closed()).toBe(1008);
    expect(socket.ofType('pong').length).toBeLessThan(2 * BURST);
  });

  /** A conversation (made once) whose messages outgrow the kernel's socket buffers in a few syncs: 200 of ~12 KB. */
  const MESSAGES = 200;
  let big: Promise<{ id: number; bob: { token: string } }> | undefined;
  const bigConversation = () =>
    (big ??= (async () => {
      const alice = await c4.user('alice');
      const bob = await c4.user('bob');
      const id = await privateConversation(c4, alice, bob);
      const text = '€'.repeat(4000);
      for (let i = 0; i < MESSAGES; i++) await send(c4, alice.token, id, text);
      return { id, bob };
    })());
  /** A socket of `token` and the server's side of it. */
  const socketPair = async (token: string) => {
    let client: TestSocket | undefined;
    const [server] = await serverSocketsOf(async () => {
      client = await TestSocket.connect(c4.wsUrl(token));
      await client.next((f) => f.type === 'connected');
    });
    if (!client || !server) throw new Error('not connected');
    sockets.push(client);
    return { client, server };
  };

  it('pauses sync while a client reads slowly and finishes it once the client reads', async () => {
    const { id, bob } = await bigConversation();
    const { client, server } = await socketPair(bob.token);
    client.ws.pause();
    const syncs = 4;
    for (let i = 0; i < syncs; i++) client.send({ action: 'sync', since: { [id]: 0 } });
    await eventually(() => server.bufferedAmount > HIGH_WATER, 20_000, 2);
    client.ws.resume();
    await eventually(() => client.ofType('synced').length === syncs, 20_000);
    expect(client.ofType('synced').map((f) => f.conversations)).toEqual(Array(syncs).fill({ [id]: MESSAGES }));
    const seqs = Array.from({ length: MESSAGES }, (_, i) => i + 1);
    expect(client.ofType('message.created').map((f) => f.seq)).toEqual(Array(syncs).fill(seqs).flat());
    expect(client.closeCode).toBeUndefined();
  }, 120_000);

  it('stops writing sync output while a client does not read, and closes that socket instead of buffering without bound', async () => {
    const messages = MESSAGES;
    const { id, bob } = await bigConversation();
    const { client: slow, server } = await socketPair(bob.token);
    slow.ws.pause(); // stops reading: the server's writes pile up behind the TCP window
    const syncs = 20;
    for (let i = 0; i < syncs; i++) slow.send({ action: 'sync', since: { [id]: 0 } });

    let mostBuffered = 0;
    await eventually(
      () => {
        mostBuffered = Math.max(mostBuffered, server.bufferedAmount);
        return !c4.server.websocketServer.clients.has(server);
      },
      30_000,
      5,
    );
    // Never more than the high-water mark plus the frame that crossed it (and small error frames).
    expect(mostBuffered).toBeLessThan(HIGH_WATER + 64 * 1024);
    slow.ws.resume();
    await slow.closed(10_000);
    expect(slow.ofType('message.created').length).toBeLessThan(syncs * messages);
    expect(slow.ofType('synced').length).toBeLessThan(syncs);
  }, 120_000);

  it('during a database outage closes new sockets with 1013 (not 4001) and answers sync with dependency-unavailable (last: it breaks the instance)', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    const id = await privateConversation(c4, alice, bob);
    const bobWs = await connect(bob.token);
    await c4.app.db.close();

    const fresh = await TestSocket.connect(c4.wsUrl(alice.token));
    expect(await fresh.closed()).toBe(1013);
    expect(fresh.ofType('connected')).toEqual([]);

    bobWs.send({ action: 'sync', since: { [id]: 0 } });
    expect(await bobWs.next((f) => f.type === 'error')).toEqual({
      type: 'error',
      code: 'dependency-unavailable',
      error: expect.any(String),
      retry_after: expect.any(Number),
      timestamp: expect.any(String),
    });
    bobWs.send({ action: 'subscribe', conversation_id: id });
    await bobWs.next((f) => f.type === 'error' && bobWs.ofType('error').length === 2);
    expect(bobWs.ofType('error').map((f) => f.code)).toEqual(['dependency-unavailable', 'dependency-unavailable']);
    expect(bobWs.closeCode).toBeUndefined();
  });
});
