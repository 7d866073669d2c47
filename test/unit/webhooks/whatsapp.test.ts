import { describe, expect, it } from 'vitest';
import { parseWhatsAppWebhook } from '../../../src/http/webhooks/whatsapp.ts';
import { isDomainError } from '../../../src/domain/errors.ts';
import { webhookFixture, webhookFixtureNames } from '../../support/webhook-fixtures.ts';

const fixture = (name: string) => webhookFixture('whatsapp', name);
const at = (unix: number) => new Date(unix * 1000);
const base = { channel: 'whatsapp', accountId: '201110002223334' };
const carla = { externalUserId: '5511987650001', displayName: 'Carla Mendes' };
const OUT = 'wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjAxQUJDRDAwMDAwMDAwMDAwMgA=';
const status = (s: string, unix: number, extra: object = {}) => [
  {
    ...base,
    kind: 'status',
    providerEventId: `${OUT}:${s}`,
    externalMessageId: OUT,
    status: s,
    at: at(unix),
    externalUserId: '5511987650001',
    ...extra,
  },
];
// The inbound fixtures' wamids differ only in their last character.
const inbound = (n: number) => `wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFDNBQjVDMDAxQTAwMDAwMDAwMDA${'xyz01'[n - 1]}`;

const expected: Record<string, unknown[]> = {
  text: [
    { ...base, ...carla, kind: 'message', providerEventId: inbound(1), externalMessageId: inbound(1), at: at(1735740000), text: 'Do you deliver on Sundays?' },
  ],
  image: [
    {
      ...base,
      ...carla,
      kind: 'message',
      providerEventId: inbound(2),
      externalMessageId: inbound(2),
      at: at(1735740060),
      media: { kind: 'image', providerMediaId: '1029384756473829', mimeType: 'image/jpeg', caption: 'This is the broken part' },
    },
  ],
  'document-reply': [
    {
      ...base,
      ...carla,
      kind: 'message',
      providerEventId: inbound(3),
      externalMessageId: inbound(3),
      at: at(1735740120),
      replyToExternalId: 'wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjAxQUJDRDAwMDAwMDAwMDAwMQA=',
      media: {
        kind: 'document',
        providerMediaId: '5647382910564738',
        mimeType: 'application/pdf',
        filename: 'receipt-2025-01.pdf',
        caption: 'Receipt attached',
      },
    },
  ],
  'interactive-reply': [
    {
      ...base,
      ...carla,
      kind: 'message',
      providerEventId: inbound(4),
      externalMessageId: inbound(4),
      at: at(1735740400),
      text: 'Track my order',
      replyToExternalId: 'wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjAxQUJDRDAwMDAwMDAwMDAwMwA=',
    },
  ],
  reaction: [
    {
      ...base,
      kind: 'reaction',
      providerEventId: inbound(5),
      externalUserId: carla.externalUserId,
      externalMessageId: OUT,
      emojis: ['👍'],
      at: at(1735740500),
    },
  ],
  'status-sent': status('sent', 1735740200),
  'status-delivered': status('delivered', 1735740203),
  'status-read': status('read', 1735740290),
  'status-failed': status('failed', 1735740205, {
    error: { providerCode: '131047', detail: 'More than 24 hours have passed since the recipient last replied to the sender number.' },
  }),
  'template-status-update': [{ kind: 'ignored', channel: 'whatsapp', reason: 'unsupported-field:message_template_status_update' }],
  batch: [
    {
      ...base,
      kind: 'message',
      providerEventId: 'wamid.BATCH0000000000000000000000000001',
      externalMessageId: 'wamid.BATCH0000000000000000000000000001',
      ...carla,
      at: at(1735741000),
      text: 'first',
    },
    {
      ...base,
      kind: 'message',
      providerEventId: 'wamid.BATCH0000000000000000000000000002',
      externalMessageId: 'wamid.BATCH0000000000000000000000000002',
      externalUserId: '5521912340002',
      displayName: 'Diego Ramos',
      at: at(1735741001),
      text: 'second',
    },
    {
      ...base,
      kind: 'status',
      providerEventId: 'wamid.OUT00000000000000000000000000000001:delivered',
      externalMessageId: 'wamid.OUT00000000000000000000000000000001',
      status: 'delivered',
      at: at(1735741002),
      externalUserId: '5511987650001',
    },
    {
      ...base,
      kind: 'status',
      providerEventId: 'wamid.OUT00000000000000000000000000000002:read',
      externalMessageId: 'wamid.OUT00000000000000000000000000000002',
      status: 'read',
      at: at(1735741003),
      externalUserId: '5521912340002',
    },
    {
      channel: 'whatsapp',
      accountId: '201110009998887',
      kind: 'message',
      providerEventId: 'wamid.BATCH0000000000000000000000000003',
      externalMessageId: 'wamid.BATCH0000000000000000000000000003',
      externalUserId: '5531999990003',
      displayName: 'Eva Lima',
      at: at(1735741004),
      text: 'third',
    },
  ],
};

function rejects(body: unknown, path: string) {
  try {
    parseWhatsAppWebhook(body);
  } catch (e) {
    expect(isDomainError(e) && [e.kind, e.code]).toEqual(['invalid', 'invalid-webhook']);
    expect(isDomainError(e) && e.details.errors).toEqual([expect.objectContaining({ path })]);
    return;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

/** The first message or status of a fixture, to break one field. */
const first = (body: Record<string, any>, list: 'messages' | 'statuses') => body.entry[0].changes[0].value[list][0];

describe('parseWhatsAppWebhook', () => {
  it('has an expectation for every WhatsApp fixture', () => {
    expect(Object.keys(expected).sort()).toEqual(webhookFixtureNames('whatsapp'));
  });

  it.each(Object.entries(expected))('parses %s', (name, events) => {
    expect(parseWhatsAppWebhook(fixture(name))).toEqual(events);
  });

  it('keys a status by wamid and status, so each step is stored once but every step is kept', () => {
    const ids = ['sent', 'delivered', 'read'].map((s) => (parseWhatsAppWebhook(fixture(`status-${s}`))[0] as { providerEventId: string }).providerEventId);
    expect(new Set(ids).size).toBe(3);
  });

  it('ignores a status it does not know, and a failure without errors still says so', () => {
    const odd = fixture('status-read');
    first(odd, 'statuses').status = 'deleted';
    expect(parseWhatsAppWebhook(odd)).toEqual([
      { kind: 'ignored', channel: 'whatsapp', providerEventId: `${OUT}:deleted`, reason: 'unsupported-status:deleted' },
    ]);
    const bare = fixture('status-read');
    first(bare, 'statuses').status = 'failed';
    expect(parseWhatsAppWebhook(bare)).toMatchObject([{ status: 'failed', error: { providerCode: 'unknown' } }]);
  });

  it('repairs NUL and lone surrogates in text instead of dropping the message', () => {
    const body = fixture('text');
    first(body, 'messages').text.body = '\u0000hi\uDC00';
    expect(parseWhatsAppWebhook(body)).toMatchObject([{ kind: 'message', text: 'hi\uFFFD' }]);
  });

  it('makes a hostile document filename safe to show', () => {
    const body = fixture('document-reply');
    first(body, 'messages').document.filename = 'in\u202evoice\u0000.pdf';
    expect(parseWhatsAppWebhook(body)).toMatchObject([{ media: { filename: 'invoice.pdf' } }]);
  });

  it('accepts an empty entry list and value-level errors', () => {
    expect(parseWhatsAppWebhook({ object: 'whatsapp_business_account', entry: [] })).toEqual([]);
    const body = fixture('text');
    const value = body.entry as any;
    value[0].changes[0].value = { messaging_product: 'whatsapp', errors: [{ code: 130429, title: 'Rate limit hit' }] };
    expect(parseWhatsAppWebhook(body)).toEqual([{ kind: 'ignored', channel: 'whatsapp', reason: 'account-error' }]);
  });

  it('rejects another object and a body without entries', () => {
    rejects({ ...fixture('text'), object: 'page' }, '/object');
    rejects({ object: 'whatsapp_business_account' }, '/entry');
    rejects({ object: 'whatsapp_business_account', entry: [{ id: '1' }] }, '/entry/0/changes');
    rejects('whatsapp', '/');
  });

  it('rejects a message or status missing what identifies it', () => {
    const noId = fixture('text');
    delete first(noId, 'messages').id;
    rejects(noId, '/entry/0/changes/0/value/messages/0/id');
    const noBody = fixture('text');
    first(noBody, 'messages').text = {};
    rejects(noBody, '/entry/0/changes/0/value/messages/0/text/body');
    const badTime = fixture('text');
    first(badTime, 'messages').timestamp = 'yesterday';
    rejects(badTime, '/entry/0/changes/0/value/messages/0/timestamp');
    for (const timestamp of ['999999999999999', '9999999999999999', '-1', '1.5', 1735740000]) {
      const outOfRange = fixture('text');
      first(outOfRange, 'messages').timestamp = timestamp;
      if (typeof timestamp === 'number') expect(parseWhatsAppWebhook(outOfRange)).toMatchObject([{ at: new Date(timestamp * 1000) }]);
      else rejects(outOfRange, '/entry/0/changes/0/value/messages/0/timestamp');
    }
    const noMedia = fixture('image');
    delete first(noMedia, 'messages').image.id;
    rejects(noMedia, '/entry/0/changes/0/value/messages/0/image/id');
    const noStatusId = fixture('status-sent');
    delete first(noStatusId, 'statuses').id;
    rejects(noStatusId, '/entry/0/changes/0/value/statuses/0/id');
    const badStatuses = fixture('status-sent');
    (badStatuses.entry as any)[0].changes[0].value.statuses = { id: 'x' };
    rejects(badStatuses, '/entry/0/changes/0/value/statuses');
  });
});
