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
    c4 = await startInstance(kind, { WS_FRAMES_PER_SECOND: '5', WS_FRAME_BURST: String(BURST), WS_HIGH_WATER_BYTES: String(HIGH_WATER), WS_DRAIN_TIMEOUT_MS: '500' });
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
    expect(limited).toEqual([{ type: 'error', code: 'rate-limited', error: expect.any(String), retry_after: expect.any(Number), timestamp: expect.any(String) }]);
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

  it('stops writing sync output while a client does not read, and closes that socket instead of buffering without bound', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    const id = await privateConversation(c4, alice, bob);
    const messages = 200;
    const text = '€'.repeat(4000); // ~12 KB per frame
    for (let i = 0; i < messages; i++) await send(c4, alice.token, id, text);

    let slow: TestSocket | undefined;
    const [server] = await serverSocketsOf(async () => {
      slow = await TestSocket.connect(c4.wsUrl(bob.token));
      await slow.next((f) => f.type === 'connected');
    });
    if (!slow) throw new Error('not connected');
    sockets.push(slow);
    slow.ws.pause(); // stops reading: the server's writes pile up behind the TCP window
    const syncs = 20;
    for (let i = 0; i < syncs; i++) slow.send({ action: 'sync', since: { [id]: 0 } });

    let mostBuffered = 0;
    await eventually(() => {
      mostBuffered = Math.max(mostBuffered, server.bufferedAmount);
      return !c4.server.websocketServer.clients.has(server);
    }, 30_000, 5);
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
      type: 'error', code: 'dependency-unavailable', error: expect.any(String), retry_after: expect.any(Number), timestamp: expect.any(String),
    });
    bobWs.send({ action: 'subscribe', conversation_id: id });
    await bobWs.next((f) => f.type === 'error' && bobWs.ofType('error').length === 2);
    expect(bobWs.ofType('error').map((f) => f.code)).toEqual(['dependency-unavailable', 'dependency-unavailable']);
    expect(bobWs.closeCode).toBeUndefined();
  });
});
