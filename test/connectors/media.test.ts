/** Downloading a person's media with each live connector, checked at the fake platforms. */
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TelegramConnector } from '../../src/adapters/connectors/telegram.ts';
import { WhatsAppConnector } from '../../src/adapters/connectors/whatsapp.ts';
import { MessengerConnector } from '../../src/adapters/connectors/messenger.ts';
import { InstagramConnector } from '../../src/adapters/connectors/instagram.ts';
import { ConnectorError, MediaTooLarge } from '../../src/ports/connector.ts';
import { FakeTelegram } from '../fakes/telegram.ts';
import { FakeMeta } from '../fakes/meta.ts';
import { noisyPng } from '../support/png.ts';

async function bytesOf(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const png = noisyPng(40, 40);

describe('WhatsAppConnector.fetchMedia', () => {
  const fake = new FakeMeta();
  let connector: WhatsAppConnector;
  beforeAll(async () => {
    await fake.start();
    connector = new WhatsAppConnector({ accessToken: fake.whatsapp.accessToken, phoneNumberId: fake.whatsapp.id, baseUrl: fake.url, timeoutMs: 2000 });
  });
  afterAll(() => fake.stop());
  beforeEach(() => void fake.requests.splice(0));

  it('asks for the media URL, then downloads it, both with the Bearer token', async () => {
    const id = fake.addMedia(png, 'image/png');
    const got = await connector.fetchMedia({ kind: 'image', providerMediaId: id }, 1024 * 1024);
    expect(got).toMatchObject({ sizeBytes: png.length, mimeType: 'image/png' });
    expect((await bytesOf(got.body)).equals(png)).toBe(true);
    expect(fake.requests.map((r) => [r.method, r.path, r.query.phone_number_id, r.headers.authorization])).toEqual([
      ['GET', `/v21.0/${id}`, fake.whatsapp.id, `Bearer ${fake.whatsapp.accessToken}`],
      ['GET', `/media-download/${id}`, undefined, `Bearer ${fake.whatsapp.accessToken}`],
    ]);
  });

  it('refuses media whose stated file_size is over the limit without downloading it', async () => {
    const id = fake.addMedia(png, 'image/png');
    const error = await connector.fetchMedia({ kind: 'image', providerMediaId: id }, png.length - 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaTooLarge);
    expect(error).toMatchObject({ sizeBytes: png.length, maxBytes: png.length - 1 });
    expect(fake.requests.map((r) => r.path)).toEqual([`/v21.0/${id}`]);
  });

  it('classifies an unknown media id and a bad token as permanent Graph errors', async () => {
    await expect(connector.fetchMedia({ kind: 'image', providerMediaId: '999' }, 1024)).rejects.toMatchObject({
      errorClass: 'invalid-request',
      providerCode: '100/33',
      isPermanent: true,
    });
    const wrong = new WhatsAppConnector({ accessToken: 'nope', phoneNumberId: fake.whatsapp.id, baseUrl: fake.url });
    const id = fake.addMedia(png, 'image/png');
    await expect(wrong.fetchMedia({ kind: 'image', providerMediaId: id }, 1024 * 1024)).rejects.toMatchObject({ errorClass: 'auth', providerCode: '190' });
  });
});

describe('TelegramConnector.fetchMedia', () => {
  const fake = new FakeTelegram();
  let connector: TelegramConnector;
  beforeAll(async () => {
    await fake.start();
    connector = new TelegramConnector({ botToken: fake.token, baseUrl: fake.url, timeoutMs: 2000 });
  });
  afterAll(() => fake.stop());
  beforeEach(() => void fake.requests.splice(0));

  it('calls getFile, then downloads file_path from the file endpoint, named after it', async () => {
    const fileId = fake.addFile(png, 'png');
    const got = await connector.fetchMedia({ kind: 'image', providerMediaId: fileId }, 1024 * 1024);
    expect(got.sizeBytes).toBe(png.length);
    expect(got.filename).toMatch(/^file_\d+\.png$/);
    expect((await bytesOf(got.body)).equals(png)).toBe(true);
    const [getFile, download] = fake.requests;
    expect([getFile.path, getFile.body]).toEqual([`/bot${fake.token}/getFile`, { file_id: fileId }]);
    expect(download.path).toMatch(new RegExp(`^/file/bot${fake.token}/photos/file_\\d+\\.png$`));
  });

  it('refuses a file over the limit (stated by getFile) before downloading it', async () => {
    const fileId = fake.addFile(png, 'png');
    await expect(connector.fetchMedia({ kind: 'image', providerMediaId: fileId }, 100)).rejects.toBeInstanceOf(MediaTooLarge);
    expect(fake.requests.map((r) => r.path)).toEqual([`/bot${fake.token}/getFile`]);
  });

  it('turns Telegram\'s "file is too big" into MediaTooLarge, an unknown file_id and a 500 into ConnectorErrors', async () => {
    fake.fail({ kind: 'respond', status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: file is too big' } });
    await expect(connector.fetchMedia({ kind: 'video', providerMediaId: 'x' }, 50 * 1024 ** 2)).rejects.toMatchObject({
      name: 'MediaTooLarge',
      maxBytes: 20 * 1024 ** 2,
    });
    await expect(connector.fetchMedia({ kind: 'image', providerMediaId: 'unknown' }, 1024)).rejects.toMatchObject({
      errorClass: 'invalid-request',
      isPermanent: true,
    });
    fake.fail({ kind: 'server-error' });
    await expect(connector.fetchMedia({ kind: 'image', providerMediaId: 'x' }, 1024)).rejects.toMatchObject({ errorClass: 'unavailable', isPermanent: false });
  });
});

describe('Messenger and Instagram fetchMedia (attachment CDN links)', () => {
  const fake = new FakeMeta();
  let messenger: MessengerConnector;
  let instagram: InstagramConnector;
  beforeAll(async () => {
    await fake.start();
    messenger = new MessengerConnector({ accessToken: fake.messenger.accessToken, pageId: fake.messenger.id, baseUrl: fake.url, timeoutMs: 2000 });
    instagram = new InstagramConnector({ accessToken: fake.instagram.accessToken, accountId: fake.instagram.id, baseUrl: fake.url, timeoutMs: 2000 });
  });
  afterAll(() => fake.stop());
  beforeEach(() => void fake.requests.splice(0));

  it('downloads the link without sending the page token, typed and named by the CDN', async () => {
    const url = fake.addCdnFile(png, 'image/png', '12345_678_n.png');
    const got = await messenger.fetchMedia({ kind: 'image', url }, 1024 * 1024);
    expect(got).toMatchObject({ sizeBytes: png.length, mimeType: 'image/png', filename: '12345_678_n.png' });
    expect((await bytesOf(got.body)).equals(png)).toBe(true);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].headers.authorization).toBeUndefined();
    expect(fake.requests[0].query.access_token).toBeUndefined();
  });

  it('reads a body of unannounced length up to the limit, and refuses it past the limit', async () => {
    const url = fake.addCdnFile(png, 'image/png', 'a.png', { chunked: true });
    const got = await instagram.fetchMedia({ kind: 'image', url }, png.length);
    expect(got.sizeBytes).toBe(png.length);
    expect((await bytesOf(got.body)).equals(png)).toBe(true);
    const error = await instagram.fetchMedia({ kind: 'image', url }, png.length - 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaTooLarge);
    expect((error as MediaTooLarge).sizeBytes).toBeUndefined();
  });

  it('refuses an announced length over the limit, and treats a missing link as a permanent error', async () => {
    const url = fake.addCdnFile(png, 'image/png');
    await expect(messenger.fetchMedia({ kind: 'image', url }, 10)).rejects.toMatchObject({ name: 'MediaTooLarge', sizeBytes: png.length });
    await expect(messenger.fetchMedia({ kind: 'image', url: `${fake.url}/cdn/v/t1.15752-9/404/x.jpg` }, 1024)).rejects.toMatchObject({
      errorClass: 'invalid-request',
      providerCode: '404',
    });
    await expect(messenger.fetchMedia({ kind: 'image', url: 'file:///etc/passwd' }, 1024)).rejects.toBeInstanceOf(ConnectorError);
    await expect(messenger.fetchMedia({ kind: 'image' }, 1024)).rejects.toBeInstanceOf(ConnectorError);
  });
});
