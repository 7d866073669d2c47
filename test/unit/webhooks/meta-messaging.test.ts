import { describe, expect, it } from 'vitest';
import { parseInstagramWebhook, parseMessengerWebhook } from '../../../src/http/webhooks/meta-messaging.ts';
import { isDomainError } from '../../../src/domain/errors.ts';
import { webhookFixture, webhookFixtureNames } from '../../support/webhook-fixtures.ts';

const PAGE = '104857600012345';
const PSID = '7310000000000001';
const IG = '17841400000012345';
const IGSID = '6650000000000001';
const ms = (n: number) => new Date(n);
const fb = { channel: 'messenger', accountId: PAGE };
const ig = { channel: 'instagram', accountId: IG };
const igMid = (tail: string) => `aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDEyMzQ1O${tail}`;

const messenger: Record<string, unknown[]> = {
  text: [
    {
      ...fb,
      kind: 'message',
      providerEventId: 'm_AbCdEfGh0001',
      externalUserId: PSID,
      externalMessageId: 'm_AbCdEfGh0001',
      at: ms(1735750000123),
      text: 'Is the blue one back in stock?',
    },
  ],
  reply: [
    {
      ...fb,
      kind: 'message',
      providerEventId: 'm_AbCdEfGh0002',
      externalUserId: PSID,
      externalMessageId: 'm_AbCdEfGh0002',
      at: ms(1735750060000),
      text: 'Yes, that one',
      replyToExternalId: 'm_OutGoing0001',
    },
  ],
  attachments: [
    {
      ...fb,
      kind: 'message',
      providerEventId: 'm_AbCdEfGh0003',
      externalUserId: PSID,
      externalMessageId: 'm_AbCdEfGh0003',
      at: ms(1735750120000),
      media: { kind: 'image', url: 'https://scontent.example.fbcdn.net/v/photo-front.jpg?oh=aa11' },
    },
    {
      ...fb,
      kind: 'message',
      providerEventId: 'm_AbCdEfGh0003#2',
      externalUserId: PSID,
      externalMessageId: 'm_AbCdEfGh0003',
      at: ms(1735750120000),
      media: { kind: 'document', url: 'https://cdn.example.fbsbx.com/v/warranty.pdf?oh=bb22' },
    },
  ],
  sticker: [
    {
      ...fb,
      kind: 'message',
      providerEventId: 'm_AbCdEfGh0004',
      externalUserId: PSID,
      externalMessageId: 'm_AbCdEfGh0004',
      at: ms(1735750180000),
      media: { kind: 'sticker', url: 'https://scontent.example.fbcdn.net/v/sticker-thumbs-up.png' },
    },
  ],
  echo: [{ kind: 'ignored', channel: 'messenger', providerEventId: 'm_OutGoing0001', reason: 'echo' }],
  delivery: [
    {
      ...fb,
      kind: 'status',
      providerEventId: 'm_OutGoing0001:delivered',
      externalMessageId: 'm_OutGoing0001',
      status: 'delivered',
      at: ms(1735750300000),
      externalUserId: PSID,
    },
    {
      ...fb,
      kind: 'status',
      providerEventId: 'm_OutGoing0002:delivered',
      externalMessageId: 'm_OutGoing0002',
      status: 'delivered',
      at: ms(1735750300000),
      externalUserId: PSID,
    },
    {
      ...fb,
      kind: 'watermark',
      providerEventId: `${PSID}:delivered:1735750300000`,
      externalUserId: PSID,
      status: 'delivered',
      watermark: ms(1735750300000),
      at: ms(1735750300000),
    },
  ],
  'delivery-watermark-only': [
    {
      ...fb,
      kind: 'watermark',
      providerEventId: `${PSID}:delivered:1735750360000`,
      externalUserId: PSID,
      status: 'delivered',
      watermark: ms(1735750360000),
      at: ms(1735750360000),
    },
  ],
  read: [
    {
      ...fb,
      kind: 'watermark',
      providerEventId: `${PSID}:read:1735750420000`,
      externalUserId: PSID,
      status: 'read',
      watermark: ms(1735750420000),
      at: ms(1735750420500),
    },
  ],
  reaction: [
    {
      ...fb,
      kind: 'reaction',
      providerEventId: `reaction:m_OutGoing0001:${PSID}:1735750480000`,
      externalUserId: PSID,
      externalMessageId: 'm_OutGoing0001',
      emojis: ['❤️'],
      at: ms(1735750480000),
    },
  ],
  'message-edit': [
    {
      ...fb,
      kind: 'edit',
      providerEventId: 'edit:m_Text0001:1',
      externalUserId: PSID,
      externalMessageId: 'm_Text0001',
      text: 'Is the blue one still in stock in size M?',
      at: ms(1735750600000),
    },
  ],
  batch: [
    { ...fb, kind: 'message', providerEventId: 'm_Batch0001', externalUserId: PSID, externalMessageId: 'm_Batch0001', at: ms(1735750599001), text: 'one' },
    { ...fb, kind: 'message', providerEventId: 'm_Batch0002', externalUserId: PSID, externalMessageId: 'm_Batch0002', at: ms(1735750599002), text: 'two' },
    { kind: 'ignored', channel: 'messenger', providerEventId: 'm_Batch0003', reason: 'echo' },
    {
      ...fb,
      kind: 'message',
      providerEventId: 'm_Batch0004',
      externalUserId: '7310000000000002',
      externalMessageId: 'm_Batch0004',
      at: ms(1735750599004),
      text: 'three',
    },
  ],
};

const instagram: Record<string, unknown[]> = {
  text: [
    {
      ...ig,
      kind: 'message',
      providerEventId: igMid('jAwMQ'),
      externalUserId: IGSID,
      externalMessageId: igMid('jAwMQ'),
      at: ms(1735760000123),
      text: 'Do you ship to Portugal?',
    },
  ],
  image: [
    {
      ...ig,
      kind: 'message',
      providerEventId: igMid('jAwMg'),
      externalUserId: IGSID,
      externalMessageId: igMid('jAwMg'),
      at: ms(1735760060000),
      media: { kind: 'image', url: 'https://lookaside.example.fbsbx.com/ig_messaging_cdn/?asset_id=1788001&signature=x1' },
    },
  ],
  reply: [
    {
      ...ig,
      kind: 'message',
      providerEventId: igMid('jAwMw'),
      externalUserId: IGSID,
      externalMessageId: igMid('jAwMw'),
      at: ms(1735760090000),
      text: 'Great, thanks',
      replyToExternalId: igMid('k9VVDE'),
    },
  ],
  echo: [{ kind: 'ignored', channel: 'instagram', providerEventId: igMid('k9VVDE'), reason: 'echo' }],
  seen: [
    {
      ...ig,
      kind: 'status',
      providerEventId: `${igMid('k9VVDE')}:read`,
      externalMessageId: igMid('k9VVDE'),
      status: 'read',
      at: ms(1735760180000),
      externalUserId: IGSID,
    },
  ],
  deleted: [{ kind: 'ignored', channel: 'instagram', providerEventId: igMid('jAwMQ'), reason: 'deleted' }],
  share: [{ kind: 'ignored', channel: 'instagram', providerEventId: igMid('jAwNA'), reason: 'unsupported-message' }],
  comment: [{ kind: 'ignored', channel: 'instagram', reason: 'unsupported-field:changes' }],
};

function rejects(parse: (b: unknown) => unknown, body: unknown, path: string) {
  try {
    parse(body);
  } catch (e) {
    expect(isDomainError(e) && [e.kind, e.code]).toEqual(['invalid', 'invalid-webhook']);
    expect(isDomainError(e) && e.details.errors).toEqual([expect.objectContaining({ path })]);
    return;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

const item = (body: Record<string, any>) => body.entry[0].messaging[0];

describe('parseMessengerWebhook', () => {
  it('has an expectation for every Messenger fixture', () => {
    expect(Object.keys(messenger).sort()).toEqual(webhookFixtureNames('messenger'));
  });

  it.each(Object.entries(messenger))('parses %s', (name, events) => {
    expect(parseMessengerWebhook(webhookFixture('messenger', name))).toEqual(events);
  });

  it('treats a message from the page itself as an echo even without is_echo', () => {
    const body = webhookFixture('messenger', 'echo');
    delete item(body).message.is_echo;
    expect(parseMessengerWebhook(body)).toEqual([{ kind: 'ignored', channel: 'messenger', providerEventId: 'm_OutGoing0001', reason: 'echo' }]);
  });

  it('repairs text with NUL and lone surrogates', () => {
    const body = webhookFixture('messenger', 'text');
    item(body).message.text = 'ok\u0000\uD83D';
    expect(parseMessengerWebhook(body)).toMatchObject([{ text: 'ok\uFFFD' }]);
  });

  it('rejects an Instagram body on the Messenger route, and bodies without entries', () => {
    rejects(parseMessengerWebhook, webhookFixture('instagram', 'text'), '/object');
    rejects(parseMessengerWebhook, { object: 'page' }, '/entry');
    rejects(parseMessengerWebhook, { object: 'page', entry: [{ messaging: [] }] }, '/entry/0/id');
    rejects(parseMessengerWebhook, { object: 'page', entry: [{ id: PAGE, messaging: {} }] }, '/entry/0/messaging');
  });

  it('rejects events missing what identifies them', () => {
    const noSender = webhookFixture('messenger', 'text');
    delete item(noSender).sender;
    rejects(parseMessengerWebhook, noSender, '/entry/0/messaging/0/sender');
    const noMid = webhookFixture('messenger', 'text');
    delete item(noMid).message.mid;
    rejects(parseMessengerWebhook, noMid, '/entry/0/messaging/0/message/mid');
    const noTime = webhookFixture('messenger', 'text');
    delete item(noTime).timestamp;
    rejects(parseMessengerWebhook, noTime, '/entry/0/messaging/0/timestamp');
    const noWatermark = webhookFixture('messenger', 'delivery');
    delete item(noWatermark).delivery.watermark;
    rejects(parseMessengerWebhook, noWatermark, '/entry/0/messaging/0/delivery/watermark');
    const badMids = webhookFixture('messenger', 'delivery');
    item(badMids).delivery.mids = [42];
    rejects(parseMessengerWebhook, badMids, '/entry/0/messaging/0/delivery/mids/0');
    const badAttachment = webhookFixture('messenger', 'attachments');
    item(badAttachment).message.attachments = [{ payload: {} }];
    rejects(parseMessengerWebhook, badAttachment, '/entry/0/messaging/0/message/attachments/0/type');
  });
});

describe('parseInstagramWebhook', () => {
  it('has an expectation for every Instagram fixture', () => {
    expect(Object.keys(instagram).sort()).toEqual(webhookFixtureNames('instagram'));
  });

  it.each(Object.entries(instagram))('parses %s', (name, events) => {
    expect(parseInstagramWebhook(webhookFixture('instagram', name))).toEqual(events);
  });

  it('rejects a Messenger body on the Instagram route', () => {
    rejects(parseInstagramWebhook, webhookFixture('messenger', 'text'), '/object');
  });

  it('rejects a read that names neither a message nor a watermark', () => {
    const body = webhookFixture('instagram', 'seen');
    item(body).read = {};
    rejects(parseInstagramWebhook, body, '/entry/0/messaging/0/read/watermark');
  });
});
