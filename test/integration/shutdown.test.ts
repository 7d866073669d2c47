import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { freshDatabase } from '../support/harness.ts';
import { spawnChat4all, freePort } from '../support/process.ts';

describe('graceful shutdown', () => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());

  it('on SIGTERM closes sockets with 1001, drains and exits 0; the data survives a restart', async () => {
    const db = await freshDatabase('pglite');
    drop = db.drop;
    const env = { ...db.env, LOG_LEVEL: 'info', RATE_LIMIT_ENABLED: 'false' };
    const port = await freePort();
    const server = await spawnChat4all(['start'], env, port);
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const token = (await post('/auth/token', { username: 'user1', password: 'password123' })).body.access_token;
    const conv = (await post('/v1/conversations', { type: 'private', member_ids: [2] }, token)).body.conversation_id;
    const id = randomUUID();
    expect((await post('/v1/messages', { message_id: id, conversation_id: conv, payload: { type: 'text', content: 'before shutdown' } }, token)).status).toBe(
      202,
    );
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
    await new Promise((resolve) => ws.once('message', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));

    const code = await server.stop();
    expect(code).toBe(0);
    expect(await closed).toBe(1001);
    expect(server.output()).toContain('"msg":"stopped"');

    const again = await spawnChat4all(['start'], env, port);
    try {
      const res = await fetch(`${again.url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).payload.content).toBe('before shutdown');
    } finally {
      await again.stop();
    }
  }, 90_000);
});
