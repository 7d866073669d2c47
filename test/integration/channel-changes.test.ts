/**
 * Replies, edits, deletions and reactions reach the platforms that have them (issue 16), through
 * the delivery pipeline, against the local fakes (test/fakes): Telegram reply_parameters,
 * editMessageText, deleteMessage and setMessageReaction; WhatsApp context replies and reaction
 * messages; Messenger reply_to. Operations a platform lacks stay 409 not-supported-by-channel; a
 * change made before the send settled arrives after it; a platform's refusal ends visibly failed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startInstance, eventually, type TestInstance } from '../support/harness.ts';
import { storeKinds, type StoreKind } from '../support/stores.ts';
import { hasServices, kafkaBrokers } from '../support/services.ts';
import { FakeTelegram, postTelegramUpdate, telegramEditedTextUpdate, telegramReactionUpdate, telegramTextUpdate } from '../fakes/telegram.ts';
import { FakeMeta, messengerEditWebhook, messengerMessageWebhook, messengerReactionWebhook, postMetaWebhook, whatsappMessageWebhook } from '../fakes/meta.ts';

const APP_SECRET = 'meta-app-secret-for-tests';
const TG_SECRET = 'telegram-webhook-secret';

// Each store with the in-process log; and PostgreSQL with Kafka carrying the work items.
const topologies: [string, StoreKind, Record<string, string>][] = storeKinds().map((kind) => [kind, kind, {}]);
if (hasServices('channel changes through Kafka', 'kafka', 'postgres')) {
  topologies.push([
    'postgres and Kafka',
    'postgres',
    { KAFKA_BROKERS: kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: `chchg-${randomUUID().slice(0, 8)}.`, KAFKA_PARTITIONS: '2' },
  ]);
}

describe.each(topologies)('changes relayed to live channels on %s', (_name, kind, extraEnv) => {
  let c4: TestInstance;
  let telegram: FakeTelegram;
  let meta: FakeMeta;
  let token: string;
  const webhook = (channel: string) => `${c4.url}/v1/webhooks/${channel}`;
  const auth = () => ({ token });

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
      MESSENGER_PAGE_ID: meta.messenger.id,
      MESSENGER_PAGE_ACCESS_TOKEN: meta.messenger.accessToken,
      INSTAGRAM_ACCOUNT_ID: meta.instagram.id,
      INSTAGRAM_ACCESS_TOKEN: meta.instagram.accessToken,
      CHANNEL_AGENTS: 'user1',
      DELIVERY_MAX_ATTEMPTS: '3',
      DELIVERY_BACKOFF_MS: '50',
      ...extraEnv,
    });
    token = await c4.login('user1');
  }, 120_000);
  afterAll(async () => {
    await c4?.close();
    await telegram?.stop();
    await meta?.stop();
  });

  let nextChat = 700_000 + (Date.now() % 100_000);
  /** A Telegram person writes (message_id 7 in their chat); answers the chat id, the conversation and the stored inbound message id. */
  const inboundTelegram = async (text = 'hello bot') => {
    const chatId = String(nextChat++);
    telegram.chats.add(chatId);
    telegram.addIncoming(chatId, 7, text);
    const update = telegramTextUpdate({ updateId: Number(chatId), messageId: 7, from: { id: Number(chatId), first_name: 'Ana' }, text });
    expect((await postTelegramUpdate(webhook('telegram'), update, TG_SECRET)).status).toBe(200);
    const conversationId = await eventually(
      async () => (await c4.query(`SELECT conversation_id FROM contacts WHERE channel = 'telegram' AND external_id = $1`, [chatId]))[0]?.conversation_id,
    );
    const [inbound] = await c4.query('SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq LIMIT 1', [conversationId]);
    return { chatId, conversationId: Number(conversationId), inboundId: String(inbound.id) };
  };
  const inboundWhatsApp = async (text = 'hello business') => {
    const from = `1555${String(nextChat++).padStart(7, '0')}`;
    const wamid = `wamid.in-${randomUUID()}`;
    meta.whatsapp.recipients.add(from);
    const hook = whatsappMessageWebhook({ phoneNumberId: meta.whatsapp.id }, { wamid, from, name: 'Bo', content: { type: 'text', body: text } });
    expect((await postMetaWebhook(webhook('whatsapp'), hook, APP_SECRET)).status).toBe(200);
    const conversationId = await eventually(
      async () => (await c4.query(`SELECT conversation_id FROM contacts WHERE channel = 'whatsapp' AND external_id = $1`, [from]))[0]?.conversation_id,
    );
    const [inbound] = await c4.query('SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq LIMIT 1', [conversationId]);
    return { from, wamid, conversationId: Number(conversationId), inboundId: String(inbound.id) };
  };
  const send = async (conversationId: number, content: string, replyTo?: string) => {
    const res = await c4.request('POST', '/v1/messages', {
      ...auth(),
      body: { message_id: randomUUID(), conversation_id: conversationId, payload: { type: 'text', content }, ...(replyTo ? { reply_to: replyTo } : {}) },
    });
    expect(res.status).toBe(202);
    return String(res.body.message_id);
  };
  const delivery = async (messageId: string) => (await c4.query('SELECT * FROM message_channels WHERE message_id = $1', [messageId]))[0];
  /** Sends and waits until the platform accepted it; answers our id and the platform's. */
  const sendSettled = async (conversationId: number, content: string, replyTo?: string) => {
    const id = await send(conversationId, content, replyTo);
    const externalId = await eventually(async () => {
      const d = await delivery(id);
      return d?.status === 'sent' ? String(d.external_id) : undefined;
    });
    return { id, externalId };
  };
  const changesOf = async (messageId: string) => (await c4.request('GET', `/v1/messages/${messageId}`, auth())).body.statuses.channel_changes;
  const changesSettled = (messageId: string, n: number, timeoutMs?: number) =>
    eventually(async () => {
      const changes = await changesOf(messageId);
      return changes.length === n && changes.every((c: { status: string }) => c.status !== 'pending') ? changes : undefined;
    }, timeoutMs);
  const react = (messageId: string, emoji: string, add = true) =>
    c4.request(add ? 'PUT' : 'DELETE', `/v1/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`, auth());
  const edit = (messageId: string, content: string) =>
    c4.request('PATCH', `/v1/messages/${messageId}`, { ...auth(), body: { payload: { type: 'text', content } } });

  it('lists what each channel relays in GET /v1/channels', async () => {
    const res = await c4.request('GET', '/v1/channels', auth());
    const caps = Object.fromEntries(res.body.map((c: any) => [c.channel, c.capabilities]));
    const flags = (c: any) => [c.edits, c.deletes, c.reactions, c.replies];
    expect(flags(caps.telegram)).toEqual([true, true, true, true]);
    expect(flags(caps.whatsapp)).toEqual([false, false, true, true]);
    expect(flags(caps.messenger)).toEqual([false, false, false, true]);
    expect(flags(caps.instagram)).toEqual([false, false, false, false]);
    expect(caps.telegram.reaction_emoji).toContain('👍');
    expect(caps.whatsapp.reaction_emoji).toBeUndefined();
  });

  it('sends a reply to a Telegram message with reply_parameters naming its message_id (the contact’s and our own)', async () => {
    const { chatId, conversationId, inboundId } = await inboundTelegram();
    const toContact = await sendSettled(conversationId, 'answering you', inboundId);
    expect(telegram.message(chatId, toContact.externalId)).toMatchObject({ text: 'answering you', replyTo: 7 });
    const toOurs = await sendSettled(conversationId, 'and myself', toContact.id);
    expect(telegram.message(chatId, toOurs.externalId)?.replyTo).toBe(Number(toContact.externalId));
    const request = telegram.received('/sendMessage').find((r) => r.body.text === 'and myself')!;
    expect(request.body.reply_parameters).toMatchObject({ message_id: Number(toContact.externalId) });
  });

  it('edits and deletes a sent message on Telegram, in order', async () => {
    const { chatId, conversationId } = await inboundTelegram();
    const { id, externalId } = await sendSettled(conversationId, 'first words');
    expect((await edit(id, 'better words')).status).toBe(200);
    expect((await c4.request('DELETE', `/v1/messages/${id}`, auth())).status).toBe(200);
    const changes = await changesSettled(id, 2);
    expect(changes.map((c: any) => [c.kind, c.status])).toEqual([
      ['edit', 'sent'],
      ['delete', 'sent'],
    ]);
    expect(telegram.message(chatId, externalId)).toMatchObject({ text: 'better words', edits: 1, isDeleted: true });
    const calls = telegram.requests.filter((r) => r.body.message_id === Number(externalId) && String(r.body.chat_id) === chatId);
    expect(calls.map((r) => [r.path.split('/').pop(), r.body])).toEqual([
      ['editMessageText', { chat_id: chatId, message_id: Number(externalId), text: 'better words' }],
      ['deleteMessage', { chat_id: chatId, message_id: Number(externalId) }],
    ]);
  });

  it('puts a reaction on a Telegram contact’s message and takes it back; refuses an emoji Telegram lacks with 422 before storing it', async () => {
    const { chatId, inboundId } = await inboundTelegram();
    const refused = await react(inboundId, '🦆');
    expect([refused.status, refused.body.code, refused.body.channel]).toEqual([422, 'emoji-not-supported-by-channel', 'telegram']);
    expect((await c4.request('GET', `/v1/messages/${inboundId}`, auth())).body).toMatchObject({ version: 0, reactions: [] });

    expect((await react(inboundId, '👍')).status).toBe(200);
    await eventually(() => telegram.message(chatId, 7)?.reaction.length === 1);
    expect(telegram.message(chatId, 7)?.reaction).toEqual([{ type: 'emoji', emoji: '👍' }]);
    expect((await react(inboundId, '👍', false)).status).toBe(200);
    const changes = await changesSettled(inboundId, 2);
    expect(changes.map((c: any) => c.status)).toEqual(['sent', 'sent']);
    expect(telegram.message(chatId, 7)?.reaction).toEqual([]);
    const bodies = telegram.received('/setMessageReaction').filter((r) => String(r.body.chat_id) === chatId);
    expect(bodies.map((r) => r.body.reaction)).toEqual([[{ type: 'emoji', emoji: '👍' }], []]);
  });

  it('reacts to a WhatsApp message with a reaction message, removes it with an empty emoji, and replies by context', async () => {
    const { from, wamid, conversationId, inboundId } = await inboundWhatsApp();
    expect((await react(inboundId, '❤️')).status).toBe(200);
    // A reaction change sets our reaction to what it is when it runs: wait, so the platform sees both states.
    await changesSettled(inboundId, 1);
    expect((await react(inboundId, '❤️', false)).status).toBe(200);
    await changesSettled(inboundId, 2);
    const reactions = meta.received(`/${meta.whatsapp.id}/messages`).filter((r) => r.body.to === from && r.body.type === 'reaction');
    expect(reactions.map((r) => [r.headers.authorization, r.body.reaction])).toEqual([
      [`Bearer ${meta.whatsapp.accessToken}`, { message_id: wamid, emoji: '❤️' }],
      [`Bearer ${meta.whatsapp.accessToken}`, { message_id: wamid, emoji: '' }],
    ]);
    await sendSettled(conversationId, 'replying', inboundId);
    const reply = meta.received(`/${meta.whatsapp.id}/messages`).find((r) => r.body.to === from && r.body.type === 'text')!;
    expect(reply.body).toMatchObject({ context: { message_id: wamid }, text: { body: 'replying' } });
  });

  it('replies on Messenger with reply_to naming the person’s mid', async () => {
    const psid = `${Date.now()}`;
    const mid = `m_${randomUUID()}`;
    meta.messenger.recipients.add(psid);
    await postMetaWebhook(webhook('messenger'), messengerMessageWebhook(meta.messenger.id, psid, { mid, text: 'hey' }), APP_SECRET);
    const conversationId = await eventually(
      async () => (await c4.query(`SELECT conversation_id FROM contacts WHERE channel = 'messenger' AND external_id = $1`, [psid]))[0]?.conversation_id,
    );
    const [inbound] = await c4.query('SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq LIMIT 1', [conversationId]);
    await sendSettled(Number(conversationId), 'hello back', String(inbound.id));
    expect(meta.received(`/${meta.messenger.id}/messages`).find((r) => (r.body.recipient as any)?.id === psid)?.body).toMatchObject({
      message: { text: 'hello back' },
      reply_to: { mid },
    });
  });

  it('still answers 409 not-supported-by-channel, naming the channel, for what a platform lacks, changing nothing', async () => {
    const { conversationId } = await inboundWhatsApp();
    const { id } = await sendSettled(conversationId, 'on WhatsApp');
    const edited = await edit(id, 'changed');
    const deleted = await c4.request('DELETE', `/v1/messages/${id}`, auth());
    expect([edited.status, edited.body.code, edited.body.channel, edited.body.feature]).toEqual([409, 'not-supported-by-channel', 'whatsapp', 'edits']);
    expect([deleted.status, deleted.body.code, deleted.body.channel, deleted.body.feature]).toEqual([409, 'not-supported-by-channel', 'whatsapp', 'deletes']);
    const [row] = await c4.query('SELECT version, payload FROM messages WHERE id = $1', [id]);
    expect([Number(row.version), (row.payload as { content: string }).content]).toEqual([0, 'on WhatsApp']);
    expect(await changesOf(id)).toEqual([]);
  });

  it('holds a change made before the send settled and relays it after the send', async () => {
    const { chatId, conversationId } = await inboundTelegram();
    telegram.fail({ kind: 'rate-limit', retryAfterSeconds: 2 }); // the send waits two seconds before its retry
    const before = telegram.requests.length;
    const id = await send(conversationId, 'hi there');
    await eventually(async () => (await delivery(id))?.attempts === 1 && (await delivery(id)).status === 'pending');
    expect((await react(id, '🔥')).status).toBe(200);
    expect((await edit(id, 'hi there, edited')).status).toBe(200);
    expect((await changesOf(id)).map((c: any) => c.status)).toEqual(['pending', 'pending']);

    const changes = await changesSettled(id, 2, 15_000);
    expect(changes.map((c: any) => [c.kind, c.status])).toEqual([
      ['reaction', 'sent'],
      ['edit', 'sent'],
    ]);
    const externalId = Number((await delivery(id)).external_id);
    const calls = telegram.requests.slice(before).filter((r) => String(r.body.chat_id) === chatId);
    expect(calls.map((r) => r.path.split('/').pop())).toEqual(['sendMessage', 'sendMessage', 'setMessageReaction', 'editMessageText']);
    // The retried send read the message as it was then (edited); the edit after it found nothing to change.
    expect(calls[1].body.text).toBe('hi there, edited');
    expect(calls[2].body).toMatchObject({ message_id: externalId, reaction: [{ type: 'emoji', emoji: '🔥' }] });
    expect(telegram.message(chatId, externalId)).toMatchObject({ text: 'hi there, edited', reaction: [{ type: 'emoji', emoji: '🔥' }] });
  });

  it('holds a reply until its original’s send settled, so the platform still shows it as a reply', async () => {
    const { chatId, conversationId } = await inboundTelegram();
    telegram.fail({ kind: 'rate-limit', retryAfterSeconds: 2 });
    const original = await send(conversationId, 'the question');
    await eventually(async () => (await delivery(original))?.attempts === 1);
    const reply = await send(conversationId, 'the answer', original);
    const replyExternal = await eventually(
      async () => ((await delivery(reply))?.status === 'sent' ? Number((await delivery(reply)).external_id) : undefined),
      15_000,
    );
    const originalExternal = Number((await delivery(original)).external_id);
    expect(telegram.message(chatId, replyExternal)).toMatchObject({ text: 'the answer', replyTo: originalExternal });
  });

  it('sends nothing of a message deleted before its send, and skips the deletion there is nothing to apply to', async () => {
    const { chatId, conversationId } = await inboundTelegram();
    telegram.fail({ kind: 'rate-limit', retryAfterSeconds: 2 });
    const id = await send(conversationId, 'regrettable');
    await eventually(async () => (await delivery(id))?.attempts === 1);
    expect((await c4.request('DELETE', `/v1/messages/${id}`, auth())).status).toBe(200);
    const [change] = await changesSettled(id, 1, 15_000);
    expect(change).toMatchObject({ kind: 'delete', status: 'skipped' });
    expect(await delivery(id)).toMatchObject({ status: 'failed', error: 'the message was deleted before it was sent', error_class: 'deleted' });
    expect(await c4.query('SELECT 1 FROM dead_letters WHERE message_id = $1', [id])).toEqual([]);
    expect(telegram.received('/sendMessage').filter((r) => String(r.body.chat_id) === chatId && r.body.text === 'regrettable')).toHaveLength(1); // the 429'd one
    expect([...telegram.messages.values()].filter((m) => m.chatId === chatId && m.text === 'regrettable')).toEqual([]);
  });

  it('ends a change the platform refuses as failed and dead-lettered, keeps the stored edit, and a replay relays it', async () => {
    const { chatId, conversationId } = await inboundTelegram();
    const { id, externalId } = await sendSettled(conversationId, 'original');
    telegram.fail({ kind: 'server-error' }, 3); // every attempt (DELIVERY_MAX_ATTEMPTS=3) fails
    expect((await edit(id, 'edited here')).status).toBe(200);
    const [change] = await changesSettled(id, 1, 15_000);
    expect(change).toMatchObject({ kind: 'edit', status: 'failed', attempts: 3, failure: { code: 'unavailable', provider_code: '500' } });
    const details = (await c4.request('GET', `/v1/messages/${id}`, auth())).body;
    expect(details.payload).toEqual({ type: 'text', content: 'edited here' });
    expect(details.statuses.channels[0]).toMatchObject({ channel: 'telegram', status: 'sent' });
    expect(telegram.message(chatId, externalId)?.text).toBe('original');
    const [letter] = await c4.query('SELECT id, change_id, reason FROM dead_letters WHERE message_id = $1', [id]);
    expect([Number(letter.change_id), String(letter.reason)]).toEqual([change.change_id, expect.stringMatching(/^edit: /)]);

    expect(await c4.app.deadLetters.replay([Number(letter.id)])).toBe(1);
    await eventually(async () => (await changesOf(id))[0].status === 'sent', 15_000);
    expect(telegram.message(chatId, externalId)?.text).toBe('edited here');
  });

  describe('inbound: the contact’s edits and reactions', () => {
    const view = async (id: string) => (await c4.request('GET', `/v1/messages/${id}`, auth())).body;

    it('applies a Telegram edit of the contact’s message and their reactions on ours, without echoing them back', async () => {
      const { chatId, conversationId, inboundId } = await inboundTelegram('my order is late');
      const from = { id: Number(chatId), first_name: 'Ana' };
      const edited = telegramEditedTextUpdate({ updateId: Number(chatId) + 1_000_000, messageId: 7, from, text: 'my order 7732 is late' });
      expect((await postTelegramUpdate(webhook('telegram'), edited, TG_SECRET)).status).toBe(200);
      await eventually(async () => (await view(inboundId)).payload.content === 'my order 7732 is late');
      expect((await view(inboundId)).edited_at).not.toBeNull();

      const ours = await sendSettled(conversationId, 'on its way');
      const reactionsBefore = telegram.received('/setMessageReaction').length;
      const reacted = telegramReactionUpdate({ updateId: Number(chatId) + 2_000_000, messageId: Number(ours.externalId), from, emojis: ['❤'] });
      expect((await postTelegramUpdate(webhook('telegram'), reacted, TG_SECRET)).status).toBe(200);
      await eventually(async () => (await view(ours.id)).reactions.length === 1);
      expect((await view(ours.id)).reactions).toEqual([{ emoji: '❤', count: 1, me: false }]);
      const cleared = telegramReactionUpdate({ updateId: Number(chatId) + 3_000_000, messageId: Number(ours.externalId), from, emojis: [], oldEmojis: ['❤'] });
      expect((await postTelegramUpdate(webhook('telegram'), cleared, TG_SECRET)).status).toBe(200);
      await eventually(async () => (await view(ours.id)).reactions.length === 0);
      expect(await changesOf(ours.id)).toEqual([]);
      expect(telegram.received('/setMessageReaction')).toHaveLength(reactionsBefore);
    });

    it('applies a WhatsApp reaction of the contact on our message, and its removal', async () => {
      const { from, conversationId } = await inboundWhatsApp();
      const ours = await sendSettled(conversationId, 'your invoice');
      const hook = (emoji: string) =>
        whatsappMessageWebhook(
          { phoneNumberId: meta.whatsapp.id },
          { wamid: `wamid.r-${randomUUID()}`, from, name: 'Bo', content: { type: 'reaction', messageId: ours.externalId, emoji } },
        );
      expect((await postMetaWebhook(webhook('whatsapp'), hook('🙏'), APP_SECRET)).status).toBe(200);
      await eventually(async () => (await view(ours.id)).reactions.length === 1);
      expect((await view(ours.id)).reactions).toEqual([{ emoji: '🙏', count: 1, me: false }]);
      expect((await postMetaWebhook(webhook('whatsapp'), hook(''), APP_SECRET)).status).toBe(200);
      await eventually(async () => (await view(ours.id)).reactions.length === 0);
    });

    it('applies a Messenger edit and reaction of the contact', async () => {
      const psid = `${Date.now()}1`;
      const mid = `m_${randomUUID()}`;
      meta.messenger.recipients.add(psid);
      await postMetaWebhook(webhook('messenger'), messengerMessageWebhook(meta.messenger.id, psid, { mid, text: 'is it in stock?' }), APP_SECRET);
      const conversationId = await eventually(
        async () => (await c4.query(`SELECT conversation_id FROM contacts WHERE channel = 'messenger' AND external_id = $1`, [psid]))[0]?.conversation_id,
      );
      const [inbound] = await c4.query('SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq LIMIT 1', [conversationId]);
      const id = String(inbound.id);
      await postMetaWebhook(webhook('messenger'), messengerEditWebhook(meta.messenger.id, psid, { mid, text: 'is it in stock in M?', numEdit: 1 }), APP_SECRET);
      await postMetaWebhook(webhook('messenger'), messengerReactionWebhook(meta.messenger.id, psid, { mid, action: 'react', emoji: '😮' }), APP_SECRET);
      await eventually(async () => {
        const v = await view(id);
        return v.payload.content === 'is it in stock in M?' && v.reactions.length === 1;
      });
      expect((await view(id)).reactions).toEqual([{ emoji: '😮', count: 1, me: false }]);
      const versions = await c4.request('GET', `/v1/messages/${id}/versions`, auth());
      expect(versions.status).toBe(403); // the contact sent it: no user may read its versions
    });
  });

  it('fails a permanent refusal of a change at once, without retrying', async () => {
    const { chatId, inboundId } = await inboundTelegram();
    telegram.blocked.add(chatId);
    expect((await react(inboundId, '👍')).status).toBe(200);
    const [change] = await changesSettled(inboundId, 1);
    expect(change).toMatchObject({ kind: 'reaction', status: 'failed', attempts: 1, failure: { code: 'blocked', provider_code: '403' } });
    expect((await c4.request('GET', `/v1/messages/${inboundId}`, auth())).body.reactions).toMatchObject([{ emoji: '👍', count: 1, me: true }]);
  });
});

describe('changes relayed by the mock connectors (embedded, no credentials)', () => {
  let c4: TestInstance;
  let token: string;
  beforeAll(async () => {
    c4 = await startInstance('pglite', { DELIVERY_BACKOFF_MS: '50' });
    token = await c4.login('user1');
  }, 120_000);
  afterAll(() => c4?.close());

  it('relays an edit and a reaction to a mock Telegram delivery, and refuses what WhatsApp lacks as live mode does', async () => {
    const peer = await c4.user('peer');
    const conv = await c4.request('POST', '/v1/conversations', { token, body: { type: 'private', member_ids: [peer.id] } });
    const sendTo = async (channel: string) => {
      const res = await c4.request('POST', '/v1/messages', {
        token,
        body: { message_id: randomUUID(), conversation_id: conv.body.conversation_id, payload: { type: 'text', content: 'hi' }, channels: [channel], to: '42' },
      });
      await eventually(async () =>
        ['sent', 'delivered'].includes((await c4.query('SELECT status FROM message_channels WHERE message_id = $1', [res.body.message_id]))[0]?.status),
      );
      return String(res.body.message_id);
    };
    const tg = await sendTo('telegram');
    expect((await c4.request('PATCH', `/v1/messages/${tg}`, { token, body: { payload: { type: 'text', content: 'edited' } } })).status).toBe(200);
    expect((await c4.request('PUT', `/v1/messages/${tg}/reactions/${encodeURIComponent('👍')}`, { token })).status).toBe(200);
    const tgChanges = await eventually(async () => {
      const changes = (await c4.request('GET', `/v1/messages/${tg}`, { token })).body.statuses.channel_changes;
      return changes.length === 2 && changes.every((c: any) => c.status === 'sent') ? changes : undefined;
    });
    expect(tgChanges.map((c: any) => c.kind)).toEqual(['edit', 'reaction']);

    const wa = await sendTo('whatsapp');
    const refused = await c4.request('PATCH', `/v1/messages/${wa}`, { token, body: { payload: { type: 'text', content: 'edited' } } });
    expect([refused.status, refused.body.code, refused.body.channel]).toEqual([409, 'not-supported-by-channel', 'whatsapp']);
  });
});
