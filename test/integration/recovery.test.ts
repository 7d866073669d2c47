/**
 * Nothing accepted is ever left without a final state: accept messages, kill the process with
 * SIGKILL while deliveries are in flight, restart on the same data, and check that every message
 * reaches exactly one final state.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { freshDatabase } from '../support/harness.ts';
import { spawnChat4all, freePort, type ChildInstance } from '../support/process.ts';
import { storeKinds } from '../support/stores.ts';

const MESSAGES = 150;

describe.each(storeKinds())('crash recovery on %s', (kind) => {
  let instance: ChildInstance | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await instance?.kill().catch(() => undefined);
    await drop?.();
  });

  it('brings every accepted message to exactly one final state after a SIGKILL mid-pipeline', async () => {
    const db = await freshDatabase(kind);
    drop = db.drop;
    const env = {
      // ENVIRONMENT=test: production (the default on PostgreSQL) refuses demo users.
      ...db.env,
      ENVIRONMENT: 'test',
      DEMO_USERS: 'true',
      RATE_LIMIT_ENABLED: 'false',
      REGISTRATION: 'open',
      // Slow, flaky platforms keep deliveries in flight when the process dies.
      CONNECTOR_MOCK_LATENCY_MS: '300',
      CONNECTOR_MOCK_FAILURE_RATE: '0.3',
      DELIVERY_BACKOFF_MS: '50',
      DELIVERY_MAX_ATTEMPTS: '4',
    };
    const port = await freePort();
    instance = await spawnChat4all(['start'], env, port);
    const api = (path: string, init: RequestInit & { token?: string } = {}) =>
      fetch(`${instance!.url}${path}`, {
        ...init,
        headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

    const token = (await api('/auth/token', { method: 'POST', body: JSON.stringify({ username: 'user1', password: 'password123' }) })).body.access_token;
    const conv = await api('/v1/conversations', { method: 'POST', token, body: JSON.stringify({ type: 'group', member_ids: [2, 3], name: 'crash' }) });
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: MESSAGES }, async (_, i) => {
        const id = randomUUID();
        const channels = i % 3 === 0 ? ['whatsapp', 'telegram'] : ['messenger'];
        const res = await api('/v1/messages', {
          method: 'POST',
          token,
          body: JSON.stringify({ message_id: id, conversation_id: conv.body.conversation_id, payload: { type: 'text', content: `m${i}` }, channels }),
        });
        expect(res.status).toBe(202);
        ids.push(id);
      }),
    );
    // Deliveries take ~300 ms each: most are still in flight at the moment of the kill.
    const before = await api(`/v1/messages/${ids[ids.length - 1]}`, { token });
    expect(['accepted', 'sent']).toContain(before.body.status);
    await instance.kill();

    instance = await spawnChat4all(['start'], env, port);
    expect(instance.output()).toContain('recovered in-flight work after restart');
    const finals = new Map<string, any>();
    const deadline = Date.now() + 60_000;
    while (finals.size < MESSAGES && Date.now() < deadline) {
      for (const id of ids) {
        if (finals.has(id)) continue;
        const m = (await api(`/v1/messages/${id}`, { token })).body;
        if (m.status === 'delivered' || m.status === 'failed') finals.set(id, m);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(finals.size).toBe(MESSAGES);
    for (const m of finals.values()) {
      const finalEntries = m.history.filter((h: any) => !h.channel && ['delivered', 'read', 'failed'].includes(h.status));
      expect(finalEntries).toHaveLength(1);
      for (const c of m.statuses.channels) {
        expect(['delivered', 'failed']).toContain(c.status);
        // One outcome per channel in the history, however often it was retried or recovered.
        expect(m.history.filter((h: any) => h.channel === c.channel && (h.status === 'delivered' || h.status === 'failed'))).toHaveLength(1);
      }
    }
    const history = (await api(`/v1/conversations/${conv.body.conversation_id}/messages?after_seq=0&limit=100`, { token })).body.messages;
    expect(history.map((m: any) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  }, 120_000);
});
