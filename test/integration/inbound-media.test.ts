/**
 * Media a person sends on a live channel becomes a file in the channel conversation: signed
 * webhooks from fake Telegram / WhatsApp / Messenger reach a real instance over HTTP, the inbound
 * worker downloads the media from the fake platform and stores it through the blob store, and the
 * channel's agent downloads the exact bytes. Over CHANNEL_MAX_INBOUND_MEDIA_BYTES, or when the
 * platform refuses, the message keeps a text note.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startInstance, type TestInstance } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';
import { noisyPng } from '../support/png.ts';
import { FakeTelegram, postTelegramUpdate, telegramDocumentUpdate, telegramPhotoUpdate } from '../fakes/telegram.ts';
import { FakeMeta, messengerMessageWebhook, postMetaWebhook, whatsappMessageWebhook } from '../fakes/meta.ts';
import { ChannelMediaImport, inboundFileId } from '../../src/app/channels/media-import.ts';
import { FsBlobStore } from '../../src/adapters/blobs/fs.ts';
import { TelegramConnector } from '../../src/adapters/connectors/telegram.ts';
import type { InboundMessage } from '../../src/domain/inbound-event.ts';

const LIMIT = 64 * 1024;
const TELEGRAM_SECRET = 'tg-webhook-secret';
const APP_SECRET = 'meta-app-secret';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');

describe.each(storeKinds())('inbound media on %s', (store) => {
  const telegram = new FakeTelegram();
  const meta = new FakeMeta();
  let c4: TestInstance;
  let base: string;
  let agent: string;
  let outsider: string;
  let nextId = 1000;

  beforeAll(async () => {
    await telegram.start();
    await meta.start();
    c4 = await startInstance(store, {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_BASE_URL: telegram.url,
      TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
      META_APP_SECRET: APP_SECRET,
      META_GRAPH_BASE_URL: meta.url,
      WHATSAPP_ACCESS_TOKEN: meta.whatsapp.accessToken,
      WHATSAPP_PHONE_NUMBER_ID: meta.whatsapp.id,
      MESSENGER_PAGE_ID: meta.messenger.id,
      MESSENGER_PAGE_ACCESS_TOKEN: meta.messenger.accessToken,
      CHANNEL_AGENTS: 'user1',
      CHANNEL_MAX_INBOUND_MEDIA_BYTES: String(LIMIT),
    });
    base = `http://127.0.0.1:${(c4.server.server.address() as AddressInfo).port}`;
    agent = await c4.login('user1');
    outsider = await c4.login('user2');
  });
  afterAll(async () => {
    await c4?.close();
    await telegram.stop();
    await meta.stop();
  });

  const sender = (name: string) => ({ id: nextId++, first_name: name });

  /** The contact's only message once the inbound worker stored it, as the agent reads it. */
  async function messageFrom(channel: string, externalId: string) {
    return eventually(async () => {
      const contacts = await c4.request('GET', `/v1/contacts?channel=${channel}`, { token: agent });
      const contact = contacts.body.contacts?.find((c: { external_id: string }) => c.external_id === externalId);
      if (!contact?.conversation_id) return undefined;
      const res = await c4.request('GET', `/v1/conversations/${contact.conversation_id}/messages`, { token: agent });
      return res.body.messages?.[0];
    });
  }

  async function download(fileId: string, token: string): Promise<{ status: number; bytes: Buffer }> {
    const res = await fetch(`${base}/v1/files/${fileId}/download`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  it('a Telegram photo becomes a file message whose download is the exact bytes, visible to the agent only', async () => {
    const photo = noisyPng(30, 30);
    const from = sender('Ana');
    const update = telegramPhotoUpdate({
      updateId: nextId++,
      messageId: 1,
      from,
      fileId: telegram.addFile(photo, 'png'),
      caption: 'my receipt',
      fileSize: photo.length,
    });
    expect((await postTelegramUpdate(`${base}/v1/webhooks/telegram`, update, TELEGRAM_SECRET)).status).toBe(200);

    const message = await messageFrom('telegram', String(from.id));
    expect(message).toMatchObject({ sender_id: null, sender_contact: { channel: 'telegram', display_name: 'Ana' } });
    expect(message.payload).toMatchObject({ type: 'file', size_bytes: photo.length, mime_type: 'image/png', caption: 'my receipt' });
    expect(message.payload.filename).toMatch(/\.png$/);
    const got = await download(message.payload.file_id, agent);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(photo)).toBe(true);
    // user2 is no agent of Telegram: the file does not exist for them.
    expect((await download(message.payload.file_id, outsider)).status).toBe(404);
    const meta = await c4.request('GET', `/v1/files/${message.payload.file_id}`, { token: agent });
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ uploader_id: null, mime_type: 'image/png', size_bytes: photo.length });
    const [row] = await c4.query('SELECT status, source_channel, source_contact_id, sha256 FROM uploads WHERE id = $1', [message.payload.file_id]);
    expect(row).toMatchObject({ status: 'completed', source_channel: 'telegram' });
    expect(row.source_contact_id).not.toBeNull();
    expect(row.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a WhatsApp document keeps its name and type; the media is fetched with the access token', async () => {
    const mediaId = meta.addMedia(PDF, 'application/pdf');
    const webhook = whatsappMessageWebhook(
      { phoneNumberId: meta.whatsapp.id },
      {
        wamid: `wamid.doc${nextId++}`,
        from: '5511987650001',
        name: 'Bruno',
        content: { type: 'document', mediaId, mimeType: 'application/pdf', filename: 'invoice.pdf' },
      },
    );
    expect((await postMetaWebhook(`${base}/v1/webhooks/whatsapp`, webhook, APP_SECRET)).status).toBe(200);

    const message = await messageFrom('whatsapp', '5511987650001');
    expect(message.payload).toMatchObject({ type: 'file', filename: 'invoice.pdf', mime_type: 'application/pdf', size_bytes: PDF.length });
    expect(message.payload.caption).toBeUndefined();
    expect((await download(message.payload.file_id, agent)).bytes.equals(PDF)).toBe(true);
    const calls = meta.requests.filter((r) => r.method === 'GET' && r.path.includes(mediaId));
    expect(calls.map((r) => r.headers.authorization)).toEqual([`Bearer ${meta.whatsapp.accessToken}`, `Bearer ${meta.whatsapp.accessToken}`]);
  });

  it('a Messenger image attachment is downloaded from its link, the message text kept as its caption', async () => {
    const image = noisyPng(20, 20);
    const url = meta.addCdnFile(image, 'image/png', '4242_1_n.png');
    const psid = String(nextId++);
    const webhook = messengerMessageWebhook(meta.messenger.id, psid, { mid: `m_${nextId++}`, text: 'is this broken?', attachments: [{ type: 'image', url }] });
    expect((await postMetaWebhook(`${base}/v1/webhooks/messenger`, webhook, APP_SECRET)).status).toBe(200);

    const message = await messageFrom('messenger', psid);
    expect(message.payload).toMatchObject({ type: 'file', filename: '4242_1_n.png', mime_type: 'image/png', caption: 'is this broken?' });
    expect((await download(message.payload.file_id, agent)).bytes.equals(image)).toBe(true);
  });

  it('media over CHANNEL_MAX_INBOUND_MEDIA_BYTES is kept as a text note, and no file is stored', async () => {
    const big = noisyPng(160, 160);
    expect(big.length).toBeGreaterThan(LIMIT);
    const from = sender('Carla');
    const updateId = nextId++;
    // No file_size in the update: the limit is enforced from getFile's answer.
    const update = telegramPhotoUpdate({ updateId, messageId: 2, from, fileId: telegram.addFile(big, 'png'), caption: 'too big?' });
    expect((await postTelegramUpdate(`${base}/v1/webhooks/telegram`, update, TELEGRAM_SECRET)).status).toBe(200);

    const message = await messageFrom('telegram', String(from.id));
    expect(message.payload).toEqual({ type: 'text', content: '[image] too big?' });
    expect(await c4.query('SELECT id FROM uploads WHERE id = $1', [inboundFileId('telegram', String(updateId))])).toEqual([]);
  });

  it('a platform that fails twice is tried again and the file arrives; a refused file_id leaves the note', async () => {
    const doc = Buffer.from(PDF);
    const from = sender('Dora');
    telegram.fail({ kind: 'server-error' }, 2);
    const update = telegramDocumentUpdate({
      updateId: nextId++,
      messageId: 3,
      from,
      fileId: telegram.addFile(doc, 'pdf'),
      fileName: 'contract.pdf',
      mimeType: 'application/pdf',
      fileSize: doc.length,
    });
    expect((await postTelegramUpdate(`${base}/v1/webhooks/telegram`, update, TELEGRAM_SECRET)).status).toBe(200);
    const message = await messageFrom('telegram', String(from.id));
    expect(message.payload).toMatchObject({ type: 'file', filename: 'contract.pdf', mime_type: 'application/pdf' });
    expect((await download(message.payload.file_id, agent)).bytes.equals(doc)).toBe(true);

    const other = sender('Eva');
    const refused = telegramDocumentUpdate({
      updateId: nextId++,
      messageId: 4,
      from: other,
      fileId: 'no-such-file',
      fileName: 'lost.pdf',
      mimeType: 'application/pdf',
      fileSize: 10,
    });
    expect((await postTelegramUpdate(`${base}/v1/webhooks/telegram`, refused, TELEGRAM_SECRET)).status).toBe(200);
    expect((await messageFrom('telegram', String(other.id))).payload).toEqual({ type: 'text', content: '[document: lost.pdf]' });
  });

  it('importing the same event again (a batch retried) reuses the stored file without downloading it again', async () => {
    const blobs = await FsBlobStore.open(path.join(c4.env.DATA_DIR, 'blobs'));
    const connector = new TelegramConnector({ botToken: telegram.token, baseUrl: telegram.url });
    const media = new ChannelMediaImport(c4.app.db, blobs, [connector], { maxBytes: LIMIT }, pino({ level: 'silent' }));
    const photo = noisyPng(10, 10);
    const event: InboundMessage = {
      kind: 'message',
      channel: 'telegram',
      providerEventId: String(nextId++),
      externalUserId: '1',
      externalMessageId: '1',
      at: new Date(),
      media: { kind: 'image', providerMediaId: telegram.addFile(photo, 'png') },
    };
    const first = await media.import(event, event.media!);
    expect(first).toMatchObject({ type: 'file', file_id: inboundFileId('telegram', event.providerEventId), size_bytes: photo.length });
    telegram.requests.splice(0);
    expect(await media.import(event, event.media!)).toEqual(first);
    expect(telegram.requests).toEqual([]);
    await blobs.close();
  });
});
