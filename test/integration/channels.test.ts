/**
 * Live channels end to end against local fake platforms (test/fakes): inbound signed webhooks
 * create contacts and channel conversations, agents' replies reach the platform's documented API,
 * status webhooks move deliveries forward, and platform failures are retried or fail visibly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startInstance, eventually, TestSocket, type TestInstance } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';
import { FakeTelegram, postTelegramUpdate, telegramTextUpdate } from '../fakes/telegram.ts';
import { FakeMeta, messengerMessageWebhook, postMetaWebhook, verifyMetaSubscription, whatsappMessageWebhook, whatsappStatusWebhook } from '../fakes/meta.ts';

const APP_SECRET = 'meta-app-secret-for-tests';
const TG_SECRET = 'telegram-webhook-secret';
const WA_VERIFY = 'wa-verify-token';

describe.each(storeKinds())('live channels on %s', (kind) => {
  let c4: TestInstance;
  let telegram: FakeTelegram;
  let meta: FakeMeta;
  let agentToken: string;
  const wa = () => ({ phoneNumberId: meta.whatsapp.id });
  const webhook = (channel: string) => `${c4.url}/v1/webhooks/${channel}`;

  beforeAll(async () => {
    telegram = await new FakeTelegram().start();
    meta = await new FakeMeta().start();
    c4 = await startInstance(kind, {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_BASE_URL: telegram.url,
      TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
      META_APP_SECRET: APP_SECRET,
      META_GRAPH_BASE_URL: meta.url,
      WHATSAPP_ACCESS_TOKEN: meta.whatsapp.accessToken,
      WHATSAPP_PHONE_NUMBER_ID: meta.whatsapp.id,
      WHATSAPP_VERIFY_TOKEN: WA_VERIFY,
      MESSENGER_PAGE_ID: meta.messenger.id,
      MESSENGER_PAGE_ACCESS_TOKEN: meta.messenger.accessToken,
      INSTAGRAM_ACCOUNT_ID: meta.instagram.id,
      INSTAGRAM_ACCESS_TOKEN: meta.instagram.accessToken,
      CHANNEL_AGENTS: 'user1',
      DELIVERY_MAX_ATTEMPTS: '3',
      DELIVERY_BACKOFF_MS: '50',
    });
    agentToken = await c4.login('user1');
  });
  afterAll(async () => {
    await c4?.close();
    await telegram?.stop();
    await meta?.stop();
  });

  /** Posts a signed WhatsApp text from `from` and waits until its channel conversation exists; returns the conversation id. */
  const inboundWhatsApp = async (from: string, body: string) => {
    meta.whatsapp.recipients.add(from);
    const res = await postMetaWebhook(
      webhook('whatsapp'),
      whatsappMessageWebhook(wa(), { wamid: `wamid.in-${randomUUID()}`, from, name: `Person ${from}`, content: { type: 'text', body } }),
      APP_SECRET,
    );
    expect(res.status).toBe(200);
    return eventually(
      async () =>
        (await c4.query('SELECT conversation_id FROM contacts WHERE channel = $1 AND external_id = $2', ['whatsapp', from]))[0]?.conversation_id as
          number | undefined,
    );
  };
  const send = (conversationId: number, payload: object) =>
    c4.request('POST', '/v1/messages', { token: agentToken, body: { message_id: randomUUID(), conversation_id: Number(conversationId), payload } });
  const deliveryOf = async (messageId: string, channel: string) =>
    (await c4.query('SELECT * FROM message_channels WHERE message_id = $1 AND channel = $2', [messageId, channel]))[0];

  it('lists the four channels as live with their capabilities and health', async () => {
    const res = await c4.request('GET', '/v1/channels', { token: agentToken });
    expect(res.status).toBe(200);
    expect(res.body.map((c: any) => [c.channel, c.mode, c.enabled])).toEqual([
      ['whatsapp', 'live', true],
      ['instagram', 'live', true],
      ['messenger', 'live', true],
      ['telegram', 'live', true],
    ]);
    expect(res.body[0].capabilities).toMatchObject({ templates: true });
    expect(res.body[0].health).toMatchObject({ consecutive_failures: expect.any(Number) });
  });

  it('turns an inbound WhatsApp message into a contact and a channel conversation the agent receives live, and sends the reply back', async () => {
    const socket = await TestSocket.connect(c4.wsUrl(agentToken));
    await socket.next((f) => f.type === 'connected');
    const from = `1555${Date.now() % 10_000_000}`;
    const conversationId = await inboundWhatsApp(from, 'Hello, is my order shipped?');
    const created = await socket.next((f) => f.type === 'message.created' && f.conversation_id === Number(conversationId));
    expect(created).toMatchObject({
      sender_id: null,
      sender_contact: { channel: 'whatsapp', display_name: `Person ${from}` },
      payload: { type: 'text', content: 'Hello, is my order shipped?' },
    });
    socket.close();

    const details = await c4.request('GET', `/v1/conversations/${conversationId}`, { token: agentToken });
    expect(details.body).toMatchObject({ type: 'channel', contact: { channel: 'whatsapp', external_id: from } });
    const contacts = await c4.request('GET', `/v1/contacts?channel=whatsapp&query=${encodeURIComponent(`Person ${from}`)}`, { token: agentToken });
    expect(contacts.body.contacts).toHaveLength(1);

    const reply = await send(conversationId, { type: 'text', content: 'Yes, it left today.' });
    expect(reply.status).toBe(202);
    const delivery = await eventually(async () => {
      const d = await deliveryOf(reply.body.message_id, 'whatsapp');
      return d?.status === 'sent' ? d : undefined;
    });
    const request = meta.received(`/${meta.whatsapp.id}/messages`).find((r) => r.body.to === from)!;
    expect(request.headers.authorization).toBe(`Bearer ${meta.whatsapp.accessToken}`);
    expect(request.body).toMatchObject({ messaging_product: 'whatsapp', to: from, type: 'text', text: { body: 'Yes, it left today.' } });
    expect(delivery.external_id).toMatch(/^wamid\./);

    // Status webhooks, out of order: read first, then a late delivered that must change nothing.
    await postMetaWebhook(webhook('whatsapp'), whatsappStatusWebhook(wa(), { wamid: delivery.external_id, status: 'read', recipientId: from }), APP_SECRET);
    await postMetaWebhook(
      webhook('whatsapp'),
      whatsappStatusWebhook(wa(), { wamid: delivery.external_id, status: 'delivered', recipientId: from }),
      APP_SECRET,
    );
    await eventually(async () => (await deliveryOf(reply.body.message_id, 'whatsapp'))?.status === 'read');
    await eventually(async () =>
      (await c4.query('SELECT processed_at FROM webhook_events WHERE provider_event_id LIKE $1', [`${delivery.external_id}%`])).every(
        (r: any) => r.processed_at,
      ),
    );
    expect((await deliveryOf(reply.body.message_id, 'whatsapp')).status).toBe('read');
  });

  it('keeps a second message of the same person in the same conversation and stores a redelivered webhook once', async () => {
    const from = `1666${Date.now() % 10_000_000}`;
    const conversationId = await inboundWhatsApp(from, 'first');
    const again = whatsappMessageWebhook(wa(), { wamid: `wamid.dup-${randomUUID()}`, from, name: `Person ${from}`, content: { type: 'text', body: 'second' } });
    for (let i = 0; i < 3; i++) expect((await postMetaWebhook(webhook('whatsapp'), again, APP_SECRET)).status).toBe(200);
    await eventually(async () => (await c4.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [conversationId]))[0].n === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect((await c4.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [conversationId]))[0].n).toBe(2);
    expect((await c4.query('SELECT count(*)::int AS n FROM contacts WHERE external_id = $1', [from]))[0].n).toBe(1);
  });

  it('refuses bad signatures, missing signatures, a wrong verify token and malformed bodies, storing nothing', async () => {
    const before = (await c4.query('SELECT count(*)::int AS n FROM webhook_events'))[0].n;
    const payload = whatsappMessageWebhook(wa(), { wamid: `wamid.bad-${randomUUID()}`, from: '1999', name: 'Mallory', content: { type: 'text', body: 'hi' } });
    expect((await postMetaWebhook(webhook('whatsapp'), payload, 'not-the-secret')).status).toBe(401);
    const unsigned = await fetch(webhook('whatsapp'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ code: 'invalid-signature' });
    expect(
      (await postTelegramUpdate(webhook('telegram'), telegramTextUpdate({ updateId: 1, messageId: 1, from: { id: 1, first_name: 'M' }, text: 'x' }), 'wrong'))
        .status,
    ).toBe(401);
    expect((await verifyMetaSubscription(webhook('whatsapp'), 'wrong-token', '12345')).status).toBe(403);
    const ok = await verifyMetaSubscription(webhook('whatsapp'), WA_VERIFY, '12345');
    expect([ok.status, await ok.text()]).toEqual([200, '12345']);
    const malformed = await postMetaWebhook(webhook('whatsapp'), { object: 'whatsapp_business_account', entry: 'nope' }, APP_SECRET);
    expect(malformed.status).toBe(400);
    expect((await c4.query('SELECT count(*)::int AS n FROM webhook_events'))[0].n).toBe(before);
  });

  it('answers Telegram and Messenger contacts on their own channel', async () => {
    const chatId = 500_000 + (Date.now() % 100_000);
    telegram.chats.add(String(chatId));
    const res = await postTelegramUpdate(
      webhook('telegram'),
      telegramTextUpdate({ updateId: chatId, messageId: 7, from: { id: chatId, first_name: 'Ana' }, text: 'Olá' }),
      TG_SECRET,
    );
    expect(res.status).toBe(200);
    const tgConversation = await eventually(
      async () =>
        (await c4.query(`SELECT conversation_id FROM contacts WHERE channel = 'telegram' AND external_id = $1`, [String(chatId)]))[0]?.conversation_id,
    );
    const tgReply = await send(tgConversation, { type: 'text', content: 'Oi Ana' });
    await eventually(async () => (await deliveryOf(tgReply.body.message_id, 'telegram'))?.status === 'sent');
    const sent = telegram.received('/sendMessage').find((r) => String(r.body.chat_id) === String(chatId))!;
    expect(sent.path).toBe(`/bot${telegram.token}/sendMessage`);
    expect(sent.body.text).toBe('Oi Ana');

    const psid = `${Date.now()}`;
    meta.messenger.recipients.add(psid);
    await postMetaWebhook(webhook('messenger'), messengerMessageWebhook(meta.messenger.id, psid, { mid: `m_${randomUUID()}`, text: 'hey' }), APP_SECRET);
    const msConversation = await eventually(
      async () => (await c4.query(`SELECT conversation_id FROM contacts WHERE channel = 'messenger' AND external_id = $1`, [psid]))[0]?.conversation_id,
    );
    const msReply = await send(msConversation, { type: 'text', content: 'hello back' });
    await eventually(async () => (await deliveryOf(msReply.body.message_id, 'messenger'))?.status === 'sent');
    expect(meta.received(`/${meta.messenger.id}/messages`).find((r) => (r.body.recipient as any)?.id === psid)?.body).toMatchObject({
      messaging_type: 'RESPONSE',
      message: { text: 'hello back' },
    });
  });

  it('lets an agent add a colleague to a channel conversation, who then sees the contact', async () => {
    const conversationId = await inboundWhatsApp(`1333${Date.now() % 10_000_000}`, 'can someone help?');
    const colleague = await c4.user('colleague');
    const added = await c4.request('POST', `/v1/conversations/${conversationId}/members`, { token: agentToken, body: { user_ids: [colleague.id] } });
    expect(added.status).toBe(200);
    const contacts = await c4.request('GET', '/v1/contacts?channel=whatsapp', { token: colleague.token });
    expect(contacts.body.contacts.map((c: any) => c.conversation_id)).toContain(Number(conversationId));
  });

  it('retries 429 (honouring Retry-After) and 500, then sends once', async () => {
    const conversationId = await inboundWhatsApp(`1777${Date.now() % 10_000_000}`, 'retry me');
    meta.fail({ kind: 'rate-limit', retryAfterSeconds: 1 });
    meta.fail({ kind: 'server-error' });
    const before = meta.requests.length;
    const started = Date.now();
    const reply = await send(conversationId, { type: 'text', content: 'after retries' });
    await eventually(async () => (await deliveryOf(reply.body.message_id, 'whatsapp'))?.status === 'sent', 15_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const posts = meta.requests.slice(before).filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));
    expect(posts).toHaveLength(3);
    expect((await deliveryOf(reply.body.message_id, 'whatsapp')).attempts).toBe(3);
  });

  it('fails a permanent refusal at once with the platform code, without retrying', async () => {
    const conversationId = await inboundWhatsApp(`1888${Date.now() % 10_000_000}`, 'hello');
    meta.fail({ kind: 'permanent' });
    const reply = await send(conversationId, { type: 'text', content: 'undeliverable' });
    await eventually(async () => (await deliveryOf(reply.body.message_id, 'whatsapp'))?.status === 'failed');
    const d = await deliveryOf(reply.body.message_id, 'whatsapp');
    expect([d.attempts, d.provider_code]).toEqual([1, '131026']);
    const details = await c4.request('GET', `/v1/messages/${reply.body.message_id}`, { token: agentToken });
    expect(details.body.status).toBe('failed');
    expect(details.body.statuses.channels[0]).toMatchObject({
      channel: 'whatsapp',
      status: 'failed',
      failure: { code: 'invalid-recipient', provider_code: '131026' },
    });
    expect(details.body.history.some((h: any) => h.status === 'failed' && h.detail?.startsWith('131026'))).toBe(true);
  });

  it('dead-letters a send while the platform is down past the retries, and a replay delivers it', async () => {
    const conversationId = await inboundWhatsApp(`1999${Date.now() % 10_000_000}`, 'anyone there?');
    await meta.stop();
    try {
      const reply = await send(conversationId, { type: 'text', content: 'while down' });
      await eventually(async () => (await deliveryOf(reply.body.message_id, 'whatsapp'))?.status === 'failed', 20_000);
      const [letter] = await c4.query('SELECT id FROM dead_letters WHERE message_id = $1', [reply.body.message_id]);
      expect(letter).toBeDefined();
      await meta.start();
      expect(await c4.app.deadLetters.replay([Number(letter.id)])).toBe(1);
      await eventually(async () => (await deliveryOf(reply.body.message_id, 'whatsapp'))?.status === 'sent', 15_000);
    } finally {
      await meta.start().catch(() => undefined);
    }
  });

  it('refuses a free-form WhatsApp message 24 h after the contact last wrote, and accepts a template', async () => {
    const from = `1444${Date.now() % 10_000_000}`;
    const conversationId = await inboundWhatsApp(from, 'old message');
    await c4.query(`UPDATE contacts SET last_inbound_at = now() - interval '25 hours' WHERE channel = 'whatsapp' AND external_id = $1`, [from]);
    const count = async () => (await c4.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [conversationId]))[0].n;
    const before = await count();
    const refused = await send(conversationId, { type: 'text', content: 'too late' });
    expect([refused.status, refused.body.code]).toEqual([422, 'channel-window-closed']);
    expect(await count()).toBe(before);
    const template = await send(conversationId, { type: 'template', name: 'order_update', language: 'en_US' });
    expect(template.status).toBe(202);
    await eventually(() => meta.received(`/${meta.whatsapp.id}/messages`).some((r) => r.body.to === from && r.body.type === 'template'));
  });
  it('answers 409 not-supported-by-channel for edits and deletions WhatsApp does not have, changing nothing', async () => {
    const channels = await c4.request('GET', '/v1/channels', { token: agentToken });
    expect(channels.body.find((c: any) => c.channel === 'whatsapp').capabilities).toMatchObject({ edits: false, deletes: false });
    const conversationId = await inboundWhatsApp(`1777${Date.now() % 10_000_000}`, 'please react');
    const reply = await send(conversationId, { type: 'text', content: 'sent to WhatsApp' });
    expect(reply.status).toBe(202);
    const auth = { token: agentToken };
    const refused = [
      await c4.request('PATCH', `/v1/messages/${reply.body.message_id}`, { ...auth, body: { payload: { type: 'text', content: 'edited' } } }),
      await c4.request('DELETE', `/v1/messages/${reply.body.message_id}`, auth),
    ];
    expect(refused.map((r) => [r.status, r.body.code, r.body.channel])).toEqual(Array(2).fill([409, 'not-supported-by-channel', 'whatsapp']));
    const rows = await c4.query('SELECT version, payload FROM messages WHERE conversation_id = $1 ORDER BY seq', [conversationId]);
    expect(rows.map((r) => [Number(r.version), (r.payload as { content: string }).content])).toEqual([
      [0, 'please react'],
      [0, 'sent to WhatsApp'],
    ]);
  });
});
