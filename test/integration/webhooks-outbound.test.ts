/**
 * Outbound webhooks end to end: endpoints through the API, events recorded with each change, the
 * `webhooks` worker role signing (Standard Webhooks) and delivering to a local receiver, retries,
 * ordering, disabling, rotation, replay. On PGlite, PostgreSQL and the distributed deployment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { startInstance, type TestInstance } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';
import { checkingProblems, expectProblem, groupConversation, privateConversation, send, sleep, type TestUser } from '../support/factories.ts';
import { WebhookReceiver } from '../fakes/webhook-receiver.ts';

// A loaded CI machine answers loopback requests in hundreds of milliseconds: the timeout leaves room.
const TIMEOUT_MS = 2000;
const RETRY_WINDOW_MS = 3000;
const DISABLE_AFTER_MS = 4500;
const env = {
  WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
  WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_RETRY_MAX_DELAY_MS: '200',
  WEBHOOK_RETRY_WINDOW_MS: String(RETRY_WINDOW_MS),
  WEBHOOK_DISABLE_AFTER_MS: String(DISABLE_AFTER_MS),
  WEBHOOK_POLL_MS: '50',
};

async function eventually<T>(probe: () => T | false | Promise<T | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value && !(Array.isArray(value) && value.length === 0)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe.each(targetKinds())('outbound webhooks on %s', (kind) => {
  let c4: TestTarget;
  const receivers: WebhookReceiver[] = [];
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind, env));
    // Four processes on a shared, loaded machine may take longer than the usual start budget.
  }, 2 * startTimeoutMs);
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await c4?.close();
  }, startTimeoutMs);

  const receiver = async () => {
    const r = await new WebhookReceiver().start();
    receivers.push(r);
    return r;
  };
  /** An endpoint of `owner` pointing at a new receiver that knows its secret. */
  const endpoint = async (owner: TestUser, events: string[] = ['message.created']) => {
    const r = await receiver();
    const res = await c4.request('POST', '/v1/webhooks/endpoints', { token: owner.token, body: { url: r.url, events, description: 'test' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    r.secrets = [res.body.secret];
    return { receiver: r, id: res.body.endpoint_id as number, secret: res.body.secret as string };
  };
  const deliveries = async (owner: TestUser, id: number) => {
    const res = await c4.request('GET', `/v1/webhooks/endpoints/${id}/deliveries?limit=100`, { token: owner.token });
    expect(res.status).toBe(200);
    return res.body.deliveries as Record<string, any>[];
  };
  const allVerified = (r: WebhookReceiver) => r.received.every((w) => w.verifiedBy.some((v) => v.byHand && v.byLibrary));

  it('creates an endpoint with its secret shown once and delivers signed message.created events', async () => {
    const [alice, bob] = await Promise.all([c4.user('wa'), c4.user('wb')]);
    const ep = await endpoint(alice);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const listed = await c4.request('GET', '/v1/webhooks/endpoints', { token: alice.token });
    expect(listed.body.endpoints).toEqual([expect.objectContaining({ endpoint_id: ep.id, events: ['message.created'], enabled: true })]);
    expect(JSON.stringify(listed.body)).not.toContain(ep.secret);
    expect((await c4.request('GET', `/v1/webhooks/endpoints/${ep.id}`, { token: bob.token })).status).toBe(404);

    const conv = await privateConversation(c4, alice, bob);
    const sent = await send(c4, bob.token, conv, 'hello hook');
    const [hook] = await eventually(() => ep.receiver.received.length >= 1 && ep.receiver.received, 'the first webhook');
    expect(hook.event).toEqual({
      type: 'message.created',
      timestamp: expect.stringMatching(/Z$/),
      data: expect.objectContaining({ message_id: sent.message_id, conversation_id: conv, seq: sent.seq, sender_id: bob.id, sender_username: bob.username }),
    });
    expect(hook.event.data.payload).toEqual({ type: 'text', content: 'hello hook' });
    expect(hook.verifiedBy).toEqual([{ secret: ep.secret, byHand: true, byLibrary: true }]);
    expect(Math.abs(Number(hook.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    const [d] = await eventually(async () => (await deliveries(alice, ep.id)).filter((x) => x.status === 'succeeded'), 'the delivery row');
    expect(d).toMatchObject({ event_id: hook.id, event_type: 'message.created', attempts: 1, status_code: 200, error: null, next_attempt_at: null });
    expect(d.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('sends every event type of a group to a member’s endpoint, and nothing of conversations the owner is not in', async () => {
    const [alice, bob, carol, dave] = await Promise.all([c4.user('wa'), c4.user('wb'), c4.user('wc'), c4.user('wd')]);
    const all = ['message.created', 'message.status', 'conversation.created', 'conversation.read', 'member.joined', 'member.left'];
    const ep = await endpoint(alice, all);
    const elsewhere = await privateConversation(c4, bob, carol);
    await send(c4, bob.token, elsewhere, 'not for alice');
    const group = await groupConversation(c4, alice, [bob, carol], 'hooks');
    const m = await send(c4, bob.token, group, 'in the group');
    expect((await c4.request('POST', `/v1/conversations/${group}/read`, { token: alice.token, body: {} })).status).toBe(200);
    expect((await c4.request('POST', `/v1/conversations/${group}/members`, { token: alice.token, body: { user_ids: [dave.id] } })).status).toBe(200);
    expect((await c4.request('DELETE', `/v1/conversations/${group}/members/${carol.id}`, { token: alice.token })).status).toBe(204);
    const r = ep.receiver;
    await eventually(() => r.ofType('member.left').length === 1, 'member.left');
    expect(r.received.every((w) => w.event.data.conversation_id === group)).toBe(true);
    expect(r.ofType('conversation.created')[0].event.data).toMatchObject({ conversation_id: group, conversation_type: 'group', name: 'hooks' });
    expect(r.ofType('message.created').map((w) => w.event.data.message_id)).toEqual([m.message_id]);
    expect(r.ofType('conversation.read')[0].event.data).toMatchObject({ user_id: alice.id, read_seq: m.seq });
    expect(r.ofType('member.joined')[0].event.data).toMatchObject({ user_id: dave.id, username: dave.username });
    expect(r.ofType('member.left')[0].event.data).toMatchObject({ user_id: carol.id });
    // A group message is `read` only once every member read it: `sent` (routed) is the status that always comes.
    await eventually(() => r.ofType('message.status').some((w) => w.event.data.status === 'sent'), 'message.status sent');
    expect(r.ofType('message.status')[0].event.data).toMatchObject({ message_id: m.message_id, conversation_id: group, seq: m.seq, status: 'sent' });
    // Per conversation in order: created before the message, the message before its statuses, the join before the leave.
    const types = r.received.map((w) => w.event.type);
    expect(types.indexOf('conversation.created')).toBeLessThan(types.indexOf('message.created'));
    expect(types.indexOf('message.created')).toBeLessThan(types.indexOf('message.status'));
    expect(types.indexOf('member.joined')).toBeLessThan(types.indexOf('member.left'));
    expect(allVerified(r)).toBe(true);
  });

  it('sends message.updated and message.deleted after the message.created they change, in order', async () => {
    const [alice, bob] = await Promise.all([c4.user('wa'), c4.user('wb')]);
    const ep = await endpoint(alice, ['message.created', 'message.updated', 'message.deleted']);
    const conv = await privateConversation(c4, alice, bob);
    const m = await send(c4, bob.token, conv, 'first take');
    expect(
      (await c4.request('PATCH', `/v1/messages/${m.message_id}`, { token: bob.token, body: { payload: { type: 'text', content: 'second take' } } })).status,
    ).toBe(200);
    expect((await c4.request('DELETE', `/v1/messages/${m.message_id}`, { token: bob.token })).status).toBe(200);
    const r = ep.receiver;
    await eventually(() => r.received.length === 3, 'three events');
    expect(r.received.map((w) => w.event.type)).toEqual(['message.created', 'message.updated', 'message.deleted']);
    expect(r.ofType('message.updated')[0].event.data).toMatchObject({
      message_id: m.message_id,
      conversation_id: conv,
      payload: { type: 'text', content: 'second take' },
    });
    expect(r.ofType('message.deleted')[0].event.data).toMatchObject({ message_id: m.message_id, conversation_id: conv, deleted_by: bob.id });
    expect(allVerified(r)).toBe(true);
  });

  it('keeps each conversation in order: a 500 holds the later events back until the retry succeeds', async () => {
    const [alice, bob] = await Promise.all([c4.user('wa'), c4.user('wb')]);
    const ep = await endpoint(alice);
    const conv = await privateConversation(c4, alice, bob);
    ep.receiver.answerNext({ status: 500 });
    const sent = [];
    for (let i = 0; i < 6; i++) sent.push(await send(c4, bob.token, conv, `n${i}`));
    await eventually(() => ep.receiver.received.length === 6, 'six deliveries');
    expect(ep.receiver.received.map((w) => w.event.data.seq)).toEqual(sent.map((s) => s.seq));
    // The first event was tried twice (500, then 200) under the same webhook-id; the others once.
    const first = ep.receiver.received[0].id;
    expect(ep.receiver.attempts.filter((a) => a.id === first)).toHaveLength(2);
    expect(ep.receiver.attempts).toHaveLength(7);
    const rows = await deliveries(alice, ep.id);
    expect(rows.find((d) => d.event_id === first)).toMatchObject({ status: 'succeeded', attempts: 2, status_code: 200 });
    expect(allVerified(ep.receiver)).toBe(true);
  });

  it('retries a receiver that does not answer within the timeout', async () => {
    const [alice, bob] = await Promise.all([c4.user('wa'), c4.user('wb')]);
    const ep = await endpoint(alice);
    const conv = await privateConversation(c4, alice, bob);
    ep.receiver.answerNext({ hangMs: TIMEOUT_MS * 2 });
    await send(c4, bob.token, conv, 'slow');
    await eventually(() => ep.receiver.received.length === 1, 'the retried delivery');
    expect(ep.receiver.attempts.map((a) => a.id)).toEqual([ep.receiver.received[0].id, ep.receiver.received[0].id]);
    const [d] = await eventually(async () => (await deliveries(alice, ep.id)).filter((x) => x.status === 'succeeded'), 'the success recorded');
    expect(d).toMatchObject({ status: 'succeeded', attempts: 2, status_code: 200, error: null });
  });

  it('marks deliveries failed past the retry window, disables an endpoint failing for long, and replays', async () => {
    const [alice, bob] = await Promise.all([c4.user('wa'), c4.user('wb')]);
    const ep = await endpoint(alice);
    const conv = await privateConversation(c4, alice, bob);
    ep.receiver.defaultStatus = 503;
    const since = new Date(Date.now() - 1000).toISOString();
    const first = await send(c4, bob.token, conv, 'while down 1');
    const second = await send(c4, bob.token, conv, 'while down 2');
    const failed = await eventually(async () => {
      const rows = await deliveries(alice, ep.id);
      return rows.length === 2 && rows.every((d) => d.status === 'failed') && rows;
    }, 'failed deliveries');
    expect(failed[1]).toMatchObject({ status_code: 503, error: 'HTTP 503', next_attempt_at: null });
    expect(failed[1].attempts).toBeGreaterThan(1);
    expect((await c4.request('GET', `/v1/webhooks/endpoints/${ep.id}`, { token: alice.token })).body).toMatchObject({
      enabled: true,
      failing_since: expect.any(String),
    });

    // Still failing after WEBHOOK_DISABLE_AFTER_MS: the next failure disables it, with the reason its owner reads.
    await sleep(DISABLE_AFTER_MS - RETRY_WINDOW_MS + 200);
    const third = await send(c4, bob.token, conv, 'while down 3');
    const disabled = await eventually(async () => {
      const body = (await c4.request('GET', `/v1/webhooks/endpoints/${ep.id}`, { token: alice.token })).body;
      return !body.enabled && body;
    }, 'the endpoint disabled');
    expect(disabled.disabled_reason).toMatch(/^failing since \S+Z; last error: HTTP 503$/);
    // A disabled endpoint gets no new events, and its waiting delivery is not sent.
    await send(c4, bob.token, conv, 'while disabled');
    const attemptsWhileDisabled = ep.receiver.attempts.length;
    await sleep(400);
    expect(ep.receiver.attempts).toHaveLength(attemptsWhileDisabled);
    expect(await deliveries(alice, ep.id)).toHaveLength(3);

    // Receiver back: replay the failed window, re-enable; everything arrives in the conversation's order.
    ep.receiver.defaultStatus = 200;
    // The first two failed; the third failed too when the machine was slow enough for its retries to outlast the window.
    const failedNow = (await deliveries(alice, ep.id)).filter((x) => x.status === 'failed').length;
    expect(failedNow).toBeGreaterThanOrEqual(2);
    const replay = await c4.request('POST', `/v1/webhooks/endpoints/${ep.id}/replay`, { token: alice.token, body: { since } });
    expect(replay).toMatchObject({ status: 202, body: { replayed: failedNow } });
    expect((await c4.request('PATCH', `/v1/webhooks/endpoints/${ep.id}`, { token: alice.token, body: { enabled: true } })).body).toMatchObject({
      enabled: true,
      disabled_reason: null,
    });
    await eventually(() => ep.receiver.received.length === 3, 'replayed deliveries');
    expect(ep.receiver.received.map((w) => w.event.data.message_id)).toEqual([first.message_id, second.message_id, third.message_id]);

    // One delivery again on request.
    const retry = await c4.request('POST', `/v1/webhooks/endpoints/${ep.id}/deliveries/${failed[0].delivery_id}/retry`, { token: alice.token });
    expect(retry).toMatchObject({ status: 202, body: { status: 'pending' } });
    await eventually(() => ep.receiver.received.length === 4, 'the retried delivery');
    expect(ep.receiver.received[3].id).toBe(failed[0].event_id);
    expect(allVerified(ep.receiver)).toBe(true);
  });

  it('signs with the old and the new secret during the overlap after a rotation', async () => {
    const [alice, bob] = await Promise.all([c4.user('wa'), c4.user('wb')]);
    const ep = await endpoint(alice);
    const conv = await privateConversation(c4, alice, bob);
    const rotated = await c4.request('POST', `/v1/webhooks/endpoints/${ep.id}/rotate-secret`, { token: alice.token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(ep.secret);
    expect(rotated.body.previous_secret_expires_at).toMatch(/Z$/);
    ep.receiver.secrets = [ep.secret, rotated.body.secret];
    await send(c4, bob.token, conv, 'after rotation');
    const [hook] = await eventually(() => ep.receiver.received.length === 1 && ep.receiver.received, 'a delivery');
    expect(hook.signature.split(' ')).toHaveLength(2);
    expect(hook.verifiedBy).toEqual([
      { secret: ep.secret, byHand: true, byLibrary: true },
      { secret: rotated.body.secret, byHand: true, byLibrary: true },
    ]);
  });

  it('changes and deletes endpoints; another user’s endpoint is not found', async () => {
    const [alice, bob] = await Promise.all([c4.user('wa'), c4.user('wb')]);
    const ep = await endpoint(alice);
    const patched = await c4.request('PATCH', `/v1/webhooks/endpoints/${ep.id}`, {
      token: alice.token,
      body: { events: ['message.created', 'member.joined'], description: null },
    });
    expect(patched.body).toMatchObject({ events: ['message.created', 'member.joined'], description: null });
    expectProblem(await c4.request('DELETE', `/v1/webhooks/endpoints/${ep.id}`, { token: bob.token }), 404, 'webhook-endpoint-not-found');
    expect((await c4.request('DELETE', `/v1/webhooks/endpoints/${ep.id}`, { token: alice.token })).status).toBe(204);
    expectProblem(await c4.request('GET', `/v1/webhooks/endpoints/${ep.id}/deliveries`, { token: alice.token }), 404, 'webhook-endpoint-not-found');
  });
});

describe.each(storeKinds())('webhook endpoint URLs in production on %s', (kind) => {
  let c4: TestInstance;
  beforeAll(async () => {
    c4 = checkingProblems(await startInstance(kind, { WEBHOOK_ALLOW_PRIVATE_URLS: 'false' }));
  }, startTimeoutMs);
  afterAll(async () => c4?.close());

  it.each([
    ['http://example.com/hook', 'not https'],
    ['https://user:secret@example.com/hook', 'credentials'],
    ['file:///etc/passwd', 'file URL'],
    ['https://127.0.0.1/hook', 'loopback'],
    ['https://10.1.2.3/hook', 'private'],
    ['https://192.168.0.10/hook', 'private'],
    ['https://169.254.169.254/latest/meta-data', 'link-local (cloud metadata)'],
    ['https://[::1]/hook', 'IPv6 loopback'],
    ['https://[fd00::1]/hook', 'IPv6 unique local'],
    ['https://[::ffff:10.0.0.1]/hook', 'IPv4-mapped private'],
    ['https://localhost/hook', 'loopback name'],
    ['https://runsc/hook', 'a name resolving to loopback'],
  ])('refuses %s (%s) with 400 webhook-url-not-allowed and stores nothing', async (url) => {
    const alice = await c4.user('wp');
    const res = await c4.request('POST', '/v1/webhooks/endpoints', { token: alice.token, body: { url, events: ['message.created'] } });
    expectProblem(res, 400, 'webhook-url-not-allowed');
    expect(await c4.query('SELECT 1 FROM webhook_endpoints')).toHaveLength(0);
  });

  it('refuses unknown events, huge or empty event lists and unknown fields with 400, storing nothing', async () => {
    const alice = await c4.user('wp');
    const create = (body: unknown) => c4.request('POST', '/v1/webhooks/endpoints', { token: alice.token, body });
    const url = 'https://hooks.example.com/x';
    expectProblem(await create({ url, events: ['message.exploded'] }), 400, 'validation-failed');
    expectProblem(await create({ url, events: Array.from({ length: 5000 }, () => 'message.created') }), 400, 'validation-failed');
    expectProblem(await create({ url, events: [] }), 400, 'validation-failed');
    expectProblem(await create({ url, events: ['message.created', 'message.created'] }), 400, 'validation-failed');
    expectProblem(await create({ url: 'x'.repeat(3000), events: ['message.created'] }), 400, 'validation-failed');
    expectProblem(await c4.request('POST', '/v1/webhooks/endpoints', { body: { url, events: ['message.created'] } }), 401, 'missing-token');
    expect(await c4.query('SELECT 1 FROM webhook_endpoints')).toHaveLength(0);
  });

  it('prunes finished deliveries and their events after the retention, keeping pending ones', async () => {
    const alice = await c4.user('wp');
    const [ep] = await c4.query<{ id: number }>(
      `INSERT INTO webhook_endpoints (user_id, url, events, secret) VALUES ($1, 'https://hooks.example.com/', '{message.created}', 'whsec_AAAA') RETURNING id`,
      [alice.id],
    );
    for (const status of ['succeeded', 'failed', 'pending']) {
      const [ev] = await c4.query<{ id: string }>(
        `INSERT INTO outbound_events (id, type, order_key, data, occurred_at) VALUES (gen_random_uuid(), 'message.created', '1', '{}', now() - interval '40 days') RETURNING id`,
      );
      await c4.query(
        `INSERT INTO webhook_deliveries (endpoint_id, event_id, order_key, status, give_up_at, created_at) VALUES ($1, $2, '1', $3, now(), now() - interval '40 days')`,
        [ep.id, ev.id, status],
      );
    }
    expect(await c4.app.delivery.webhooks.prune(30 * 86_400_000, 100)).toBe(2);
    expect(await c4.query('SELECT status FROM webhook_deliveries')).toEqual([{ status: 'pending' }]);
    expect(await c4.query('SELECT 1 FROM outbound_events')).toHaveLength(1);
    await c4.query('DELETE FROM webhook_endpoints');
  });
});
