/** What the WhatsApp, Messenger and Instagram connectors put on the wire, checked at the fake Graph API. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WhatsAppConnector } from '../../src/adapters/connectors/whatsapp.ts';
import { MessengerConnector } from '../../src/adapters/connectors/messenger.ts';
import { InstagramConnector } from '../../src/adapters/connectors/instagram.ts';
import { FakeMeta } from '../fakes/meta.ts';
import { outboundFile, outboundMessage } from '../support/outbound.ts';

const text = (content: string) => ({ type: 'text' as const, content });

const fake = new FakeMeta();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => void fake.requests.splice(0));

describe('WhatsAppConnector on the wire', () => {
  const to = '15551234567';
  const make = (overrides = {}) =>
    new WhatsAppConnector({ accessToken: fake.whatsapp.accessToken, phoneNumberId: fake.whatsapp.id, baseUrl: fake.url, ...overrides });

  it('posts a text to /{version}/{phone_number_id}/messages with the Bearer token, and returns the wamid', async () => {
    const { externalId } = await make().send(outboundMessage(to, text('olá')));
    const [r] = fake.requests;
    expect(r.path).toBe(`/v21.0/${fake.whatsapp.id}/messages`);
    expect(r.headers.authorization).toBe(`Bearer ${fake.whatsapp.accessToken}`);
    expect(r.body).toEqual({ messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body: 'olá' } });
    expect(externalId).toMatch(/^wamid\./);
  });

  it('replies with context.message_id, and reacts with a reaction message (an empty emoji removes it)', async () => {
    const { externalId: original } = await make().send(outboundMessage(to, text('question?')));
    await make().send({ ...outboundMessage(to, text('answer')), replyTo: original });
    const ref = { messageId: 'm', to, externalId: original };
    await make().setReaction(ref, '👍');
    await make().setReaction(ref, undefined);
    expect(fake.requests.slice(1).map((r) => [r.path, r.headers.authorization, r.body])).toEqual([
      [
        `/v21.0/${fake.whatsapp.id}/messages`,
        `Bearer ${fake.whatsapp.accessToken}`,
        { messaging_product: 'whatsapp', recipient_type: 'individual', to, context: { message_id: original }, type: 'text', text: { body: 'answer' } },
      ],
      [
        `/v21.0/${fake.whatsapp.id}/messages`,
        `Bearer ${fake.whatsapp.accessToken}`,
        { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'reaction', reaction: { message_id: original, emoji: '👍' } },
      ],
      [
        `/v21.0/${fake.whatsapp.id}/messages`,
        `Bearer ${fake.whatsapp.accessToken}`,
        { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'reaction', reaction: { message_id: original, emoji: '' } },
      ],
    ]);
    expect(fake.requests.every((r) => r.method === 'POST')).toBe(true);
  });

  it('uses the configured Graph version', async () => {
    await make({ version: 'v19.0' }).send(outboundMessage(to, text('hi')));
    expect(fake.requests[0].path).toBe(`/v19.0/${fake.whatsapp.id}/messages`);
  });

  it('sends a template with its language and components', async () => {
    const components = [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }];
    await make().send(outboundMessage(to, { type: 'template', name: 'order_update', language: 'pt_BR', components }));
    expect(fake.requests[0].body).toMatchObject({ type: 'template', template: { name: 'order_update', language: { code: 'pt_BR' }, components } });
  });

  it('sends an image by link', async () => {
    await make().send(outboundMessage(to, { type: 'file', file_id: 'f' }, outboundFile(Buffer.alloc(10), 'image/png', 'a.png', 'https://files.example/a.png')));
    expect(fake.requests[0].body).toMatchObject({ type: 'image', image: { link: 'https://files.example/a.png' } });
  });

  it('uploads a file with no URL to /media first, then sends the document by that media id', async () => {
    const bytes = Buffer.from('%PDF-1.4 contract');
    await make().send(outboundMessage(to, { type: 'file', file_id: 'f' }, outboundFile(bytes, 'application/pdf', 'contract.pdf')));
    const [upload, send] = fake.requests;
    expect(upload.path).toBe(`/v21.0/${fake.whatsapp.id}/media`);
    expect(upload.headers.authorization).toBe(`Bearer ${fake.whatsapp.accessToken}`);
    expect(upload.body).toEqual({ messaging_product: 'whatsapp', type: 'application/pdf' });
    expect(upload.files[0]).toMatchObject({ field: 'file', filename: 'contract.pdf' });
    expect(upload.files[0].bytes.equals(bytes)).toBe(true);
    const mediaId = [...fake.media.keys()].at(-1);
    expect(send.body).toMatchObject({ type: 'document', document: { id: mediaId, filename: 'contract.pdf' } });
  });

  it('classifies the 24 h window error (131047) as window-closed, and a bad token (190) as auth', async () => {
    fake.whatsapp.closedWindow.add(to);
    try {
      await expect(make().send(outboundMessage(to, text('late')))).rejects.toMatchObject({
        errorClass: 'window-closed',
        providerCode: '131047',
        isPermanent: true,
      });
      // A template is still accepted outside the window.
      await expect(make().send(outboundMessage(to, { type: 'template', name: 'hello_world', language: 'en_US' }))).resolves.toMatchObject({
        externalId: expect.stringMatching(/^wamid\./),
      });
    } finally {
      fake.whatsapp.closedWindow.delete(to);
    }
    await expect(make({ accessToken: 'nope' }).send(outboundMessage(to, text('hi')))).rejects.toMatchObject({ errorClass: 'auth', providerCode: '190' });
  });
});

describe('MessengerConnector on the wire', () => {
  const psid = '24681357900';
  const make = () => new MessengerConnector({ accessToken: fake.messenger.accessToken, pageId: fake.messenger.id, baseUrl: fake.url });

  it('posts {recipient, messaging_type, message} to /{version}/{page_id}/messages and returns the message_id', async () => {
    const { externalId } = await make().send(outboundMessage(psid, text('hello')));
    const [r] = fake.requests;
    expect(r.path).toBe(`/v21.0/${fake.messenger.id}/messages`);
    expect(r.headers.authorization).toBe(`Bearer ${fake.messenger.accessToken}`);
    expect(r.body).toEqual({ recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: 'hello' } });
    expect(externalId).toMatch(/^m_/);
  });

  it('replies with reply_to.mid beside the message', async () => {
    await make().send({ ...outboundMessage(psid, text('answer')), replyTo: 'm_original' });
    expect(fake.requests[0].body).toEqual({
      recipient: { id: psid },
      messaging_type: 'RESPONSE',
      message: { text: 'answer' },
      reply_to: { mid: 'm_original' },
    });
  });

  it('sends an attachment by URL, and uploads one without a URL as filedata', async () => {
    await make().send(
      outboundMessage(psid, { type: 'file', file_id: 'f' }, outboundFile(Buffer.alloc(10), 'image/png', 'a.png', 'https://files.example/a.png')),
    );
    expect(fake.requests[0].body).toMatchObject({
      message: { attachment: { type: 'image', payload: { url: 'https://files.example/a.png', is_reusable: false } } },
    });
    const bytes = Buffer.from('%PDF-1.4');
    await make().send(outboundMessage(psid, { type: 'file', file_id: 'f' }, outboundFile(bytes, 'application/pdf', 'r.pdf')));
    const upload = fake.requests[1];
    expect(JSON.parse(String(upload.body.recipient))).toEqual({ id: psid });
    expect(upload.body.messaging_type).toBe('RESPONSE');
    expect(JSON.parse(String(upload.body.message))).toEqual({ attachment: { type: 'file', payload: { is_reusable: false } } });
    expect(upload.files[0]).toMatchObject({ field: 'filedata', filename: 'r.pdf' });
    expect(upload.files[0].bytes.equals(bytes)).toBe(true);
  });

  it('classifies outside-the-window (10/2018278) and a person who is not available (551)', async () => {
    fake.messenger.closedWindow.add(psid);
    try {
      await expect(make().send(outboundMessage(psid, text('late')))).rejects.toMatchObject({
        errorClass: 'window-closed',
        providerCode: '10/2018278',
        isPermanent: true,
      });
    } finally {
      fake.messenger.closedWindow.delete(psid);
    }
    fake.messenger.blocked.add(psid);
    try {
      await expect(make().send(outboundMessage(psid, text('hi')))).rejects.toMatchObject({
        errorClass: 'blocked',
        providerCode: '551/1545041',
        isPermanent: true,
      });
    } finally {
      fake.messenger.blocked.delete(psid);
    }
  });
});

describe('InstagramConnector on the wire', () => {
  const igsid = '98765432100';
  const make = (accountId?: string) => new InstagramConnector({ accessToken: fake.instagram.accessToken, accountId, baseUrl: fake.url });

  it('posts to /{version}/me/messages when no account id is configured, and to the account otherwise', async () => {
    await make().send(outboundMessage(igsid, text('oi')));
    await make(fake.instagram.id).send(outboundMessage(igsid, text('oi')));
    expect(fake.requests.map((r) => r.path)).toEqual(['/v21.0/me/messages', `/v21.0/${fake.instagram.id}/messages`]);
    expect(fake.requests[0].body).toEqual({ recipient: { id: igsid }, messaging_type: 'RESPONSE', message: { text: 'oi' } });
  });

  it('sends images by URL and refuses, without a request, what Instagram cannot take', async () => {
    await make().send(
      outboundMessage(igsid, { type: 'file', file_id: 'f' }, outboundFile(Buffer.alloc(10), 'image/jpeg', 'a.jpg', 'https://files.example/a.jpg')),
    );
    expect(fake.requests[0].body).toMatchObject({ message: { attachment: { type: 'image', payload: { url: 'https://files.example/a.jpg' } } } });
    await expect(
      make().send(
        outboundMessage(igsid, { type: 'file', file_id: 'f' }, outboundFile(Buffer.alloc(10), 'application/pdf', 'a.pdf', 'https://files.example/a.pdf')),
      ),
    ).rejects.toMatchObject({ errorClass: 'invalid-request' });
    await expect(
      make().send(outboundMessage(igsid, { type: 'file', file_id: 'f' }, outboundFile(Buffer.alloc(10), 'image/png', 'a.png'))),
    ).rejects.toMatchObject({ errorClass: 'invalid-request' });
    expect(fake.requests).toHaveLength(1);
  });
});
