import { describe, expect, it } from 'vitest';
import { parseTelegramUpdate } from '../../../src/http/webhooks/telegram.ts';
import { isDomainError } from '../../../src/domain/errors.ts';
import { webhookFixture, webhookFixtureNames } from '../../support/webhook-fixtures.ts';

const fixture = (name: string) => webhookFixture('telegram', name);
const at = (unix: number) => new Date(unix * 1000);

const expected: Record<string, unknown[]> = {
  'text-message': [
    {
      kind: 'message',
      channel: 'telegram',
      providerEventId: '815002301',
      externalUserId: '5512093377',
      externalMessageId: '412',
      displayName: 'Ana Souza',
      at: at(1735732800),
      text: 'Oi! Meu pedido 7731 ainda não chegou.',
    },
  ],
  'photo-with-caption': [
    {
      kind: 'message',
      channel: 'telegram',
      providerEventId: '815002302',
      externalUserId: '5512093377',
      externalMessageId: '413',
      displayName: 'Ana',
      at: at(1735732860),
      media: { kind: 'image', providerMediaId: 'AgACAgEAAxkBAAIBmWd0large', caption: 'A caixa chegou assim' },
    },
  ],
  'document-reply': [
    {
      kind: 'message',
      channel: 'telegram',
      providerEventId: '815002303',
      externalUserId: '5512093377',
      externalMessageId: '415',
      displayName: 'Ana Souza',
      at: at(1735732920),
      replyToExternalId: '414',
      media: { kind: 'document', providerMediaId: 'BQACAgEAAxkBAAIBm2d0invoice', mimeType: 'application/pdf', filename: 'nota-fiscal-7731.pdf' },
    },
  ],
  voice: [
    {
      kind: 'message',
      channel: 'telegram',
      providerEventId: '815002304',
      externalUserId: '5512093377',
      externalMessageId: '416',
      displayName: 'Ana',
      at: at(1735732980),
      media: { kind: 'audio', providerMediaId: 'AwACAgEAAxkBAAIBnGd0voice', mimeType: 'audio/ogg' },
    },
  ],
  'edited-message': [
    {
      kind: 'edit',
      channel: 'telegram',
      providerEventId: '815002305',
      externalUserId: '5512093377',
      externalMessageId: '412',
      text: 'Oi! Meu pedido 7732 ainda não chegou.',
      at: at(1735733040),
    },
  ],
  // The custom emoji has no emoji to store; the set replaces the old one (👍 is gone).
  'message-reaction': [
    {
      kind: 'reaction',
      channel: 'telegram',
      providerEventId: '815002310',
      externalUserId: '5512093377',
      externalMessageId: '418',
      emojis: ['❤'],
      at: at(1735733100),
    },
  ],
  'channel-post': [{ kind: 'ignored', channel: 'telegram', providerEventId: '815002306', reason: 'unsupported-update:channel_post' }],
  'group-message': [{ kind: 'ignored', channel: 'telegram', providerEventId: '815002307', reason: 'chat-type:group' }],
  location: [{ kind: 'ignored', channel: 'telegram', providerEventId: '815002308', reason: 'unsupported-message:location' }],
  'callback-query': [{ kind: 'ignored', channel: 'telegram', providerEventId: '815002309', reason: 'unsupported-update:callback_query' }],
};

const rejects = (body: unknown, path: string) => {
  try {
    parseTelegramUpdate(body);
  } catch (e) {
    expect(isDomainError(e) && e.code).toBe('invalid-webhook');
    expect(isDomainError(e) && e.details.errors).toEqual([expect.objectContaining({ path })]);
    return;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
};

describe('parseTelegramUpdate', () => {
  it('has an expectation for every Telegram fixture', () => {
    expect(Object.keys(expected).sort()).toEqual(webhookFixtureNames('telegram'));
  });

  it.each(Object.entries(expected))('parses %s', (name, events) => {
    expect(parseTelegramUpdate(fixture(name))).toEqual(events);
  });

  it('uses update_id as the dedupe key and the chat id as the contact', () => {
    const [event] = parseTelegramUpdate(fixture('text-message'));
    expect(event).toMatchObject({ providerEventId: '815002301', externalUserId: '5512093377' });
  });

  it('keeps a message whose text holds NUL or a lone surrogate, repaired', () => {
    const body = fixture('text-message');
    (body.message as Record<string, unknown>).text = 'a\u0000b\uD800c';
    expect(parseTelegramUpdate(body)).toMatchObject([{ kind: 'message', text: 'ab\uFFFDc' }]);
  });

  it('falls back to the username when the sender has no name', () => {
    const body = fixture('text-message');
    (body.message as Record<string, unknown>).from = { id: 5512093377, is_bot: false, first_name: '', username: 'anasouza' };
    expect(parseTelegramUpdate(body)).toMatchObject([{ displayName: '@anasouza' }]);
  });

  it('ignores an update that carries nothing but its id', () => {
    expect(parseTelegramUpdate({ update_id: 1 })).toEqual([{ kind: 'ignored', channel: 'telegram', providerEventId: '1', reason: 'empty-update' }]);
  });

  it('rejects bodies that are not an Update', () => {
    rejects(null, '/');
    rejects([], '/');
    rejects('update', '/');
    rejects({}, '/update_id');
    rejects({ update_id: '815002301' }, '/update_id');
    rejects({ update_id: 1.5 }, '/update_id');
    rejects({ update_id: 1, message: 'hi' }, '/message');
  });

  it('rejects a message without the fields every Message has', () => {
    const without = (key: string) => {
      const body = fixture('text-message');
      delete (body.message as Record<string, unknown>)[key];
      return body;
    };
    rejects(without('chat'), '/message/chat');
    rejects(without('message_id'), '/message/message_id');
    rejects(without('date'), '/message/date');
    const badText = fixture('text-message');
    (badText.message as Record<string, unknown>).text = 42;
    rejects(badText, '/message/text');
  });

  it('rejects media without a file id and an empty photo list', () => {
    const doc = fixture('document-reply');
    (doc.message as Record<string, unknown>).document = { file_name: 'x.pdf' };
    rejects(doc, '/message/document/file_id');
    const photo = fixture('photo-with-caption');
    (photo.message as Record<string, unknown>).photo = [];
    rejects(photo, '/message/photo');
  });
});
