import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, eventually, uuid, type TestInstance } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';

describe.each(storeKinds())('delivery pipeline on %s', (kind) => {
  let c4: TestInstance;
  let token: string;
  let conversationId: number;
  beforeAll(async () => {
    // Every platform call fails: retries with backoff, then the dead-letter queue.
    c4 = await startInstance(kind, { CONNECTOR_MOCK_FAILURE_RATE: '1', DELIVERY_MAX_ATTEMPTS: '3', DELIVERY_BACKOFF_MS: '10' });
    token = await c4.login('user1');
    conversationId = (await c4.request('POST', '/v1/conversations', { token, body: { type: 'private', member_ids: [2] } })).body.conversation_id;
  });
  afterAll(async () => c4?.close());

  const send = async (channels: string[], content = 'hi') => {
    const id = uuid();
    const res = await c4.request('POST', '/v1/messages', {
      token,
      body: { message_id: id, conversation_id: conversationId, payload: { type: 'text', content }, channels },
    });
    expect(res.status).toBe(202);
    return id;
  };
  const message = async (id: string) => (await c4.request('GET', `/v1/messages/${id}`, { token })).body;

  it('retries a failing channel with backoff, then fails the message and dead-letters it', async () => {
    const id = await send(['telegram']);
    const failed = await eventually(async () => {
      const m = await message(id);
      return m.status === 'failed' && m;
    });
    expect(failed.statuses.channels[0]).toMatchObject({ channel: 'telegram', status: 'failed', attempts: 3 });
    expect(failed.statuses.channels[0].error).toMatch(/unavailable/);
    const dead = await c4.app.deadLetters.list();
    expect(dead.filter((d) => d.message_id === id)).toEqual([expect.objectContaining({ channel: 'telegram', attempts: 3 })]);
    expect(failed.history.filter((h: any) => h.status === 'failed' && !h.channel)).toHaveLength(1);
  });

  it('dead-letters at once what the platform rejects permanently', async () => {
    const id = await send(['instagram'], 'x'.repeat(1500));
    const failed = await eventually(async () => {
      const m = await message(id);
      return m.status === 'failed' && m;
    });
    expect(failed.statuses.channels[0]).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('replays a dead letter: the delivery runs again and the message leaves failed', async () => {
    const id = await send(['messenger']);
    await eventually(async () => (await message(id)).status === 'failed');
    const dead = (await c4.app.deadLetters.list()).find((d) => d.message_id === id);
    expect(dead).toBeDefined();
    expect(await c4.app.deadLetters.replay([dead!.id])).toBe(1);
    const replayed = await message(id);
    expect(replayed.history.some((h: any) => h.detail === 'replayed from dead-letter queue')).toBe(true);
    // Still failing on the platform: it fails again and is dead-lettered a second time.
    await eventually(async () => (await c4.app.deadLetters.list()).some((d) => d.message_id === id && d.id !== dead!.id));
    expect((await c4.app.deadLetters.list({ includeReplayed: true })).filter((d) => d.message_id === id)).toHaveLength(2);
  });

  it('prunes published outbox rows once they are older than the retention', async () => {
    await send(['internal']);
    await eventually(async () => (await c4.app.db.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).length === 0);
    const [{ n: published }] = await c4.app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    expect(published).toBeGreaterThan(0);
    expect(await c4.app.delivery.housekeeping.pruneOutbox(3_600_000, 1000)).toBe(0);
    expect(await c4.app.delivery.housekeeping.pruneOutbox(0, 100_000)).toBe(published);
    expect(await c4.app.db.query('SELECT 1 FROM outbox')).toEqual([]);
  });

  it('reports outbox backlog and dead letters in /metrics', async () => {
    await c4.app.delivery.housekeeping.sampleBacklog();
    const metrics = await c4.request('GET', '/metrics');
    expect(metrics.body).toMatch(/chat4all_outbox_backlog 0/);
    expect(metrics.body).toMatch(/chat4all_dlq_size [1-9]/);
    expect(metrics.body).toMatch(/chat4all_connector_sends_total\{channel="telegram",result="failure"\} [1-9]/);
  });
});
