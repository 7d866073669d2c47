/** What the Telegram connector puts on the wire, checked at the fake Bot API. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TelegramConnector } from '../../src/adapters/connectors/telegram.ts';
import { ConnectorError } from '../../src/ports/connector.ts';
import { FakeTelegram } from '../fakes/telegram.ts';
import { outboundFile, outboundMessage } from '../support/outbound.ts';

describe('TelegramConnector on the wire', () => {
  const fake = new FakeTelegram({ chats: ['100200300', '555'] });
  let connector: TelegramConnector;
  beforeAll(async () => {
    await fake.start();
    connector = new TelegramConnector({ botToken: fake.token, baseUrl: fake.url, timeoutMs: 2000 });
  });
  afterAll(() => fake.stop());
  beforeEach(() => void fake.requests.splice(0));

  it('sends a text with sendMessage, the token in the path, and returns the message_id', async () => {
    const { externalId } = await connector.send(outboundMessage('100200300', { type: 'text', content: 'olá' }));
    const [r] = fake.requests;
    expect(r.path).toBe(`/bot${fake.token}/sendMessage`);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toEqual({ chat_id: '100200300', text: 'olá' });
    expect(externalId).toMatch(/^\d+$/);
  });

  it('sends a small photo by URL with sendPhoto', async () => {
    await connector.send(
      outboundMessage('100200300', { type: 'file', file_id: 'f1' }, outboundFile(Buffer.alloc(100), 'image/jpeg', 'a.jpg', 'https://files.example/a.jpg')),
    );
    expect(fake.requests.map((r) => [r.path, r.body])).toEqual([
      [`/bot${fake.token}/sendPhoto`, { chat_id: '100200300', photo: 'https://files.example/a.jpg' }],
    ]);
  });

  it('uploads a file with no URL as multipart sendDocument, keeping its name and bytes', async () => {
    const bytes = Buffer.from('%PDF-1.4 fake pdf');
    await connector.send(outboundMessage('555', { type: 'file', file_id: 'f2' }, outboundFile(bytes, 'application/pdf', 'report.pdf')));
    const [r] = fake.requests;
    expect(r.path).toBe(`/bot${fake.token}/sendDocument`);
    expect(r.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(r.body).toEqual({ chat_id: '555' });
    expect(r.files).toMatchObject([{ field: 'document', filename: 'report.pdf', type: 'application/pdf' }]);
    expect(r.files[0].bytes.equals(bytes)).toBe(true);
  });

  it('uploads a document Telegram would not fetch by URL (only GIF, PDF and ZIP are)', async () => {
    await connector.send(
      outboundMessage('555', { type: 'file', file_id: 'f3' }, outboundFile(Buffer.from('plain'), 'text/plain', 'notes.txt', 'https://files.example/notes.txt')),
    );
    expect(fake.requests[0].files.map((f) => f.filename)).toEqual(['notes.txt']);
  });

  it('classifies a user who blocked the bot as blocked (403), and a bad token as auth (401)', async () => {
    fake.blocked.add('555');
    try {
      await expect(connector.send(outboundMessage('555', { type: 'text', content: 'hi' }))).rejects.toMatchObject({
        errorClass: 'blocked',
        providerCode: '403',
        isPermanent: true,
      });
    } finally {
      fake.blocked.delete('555');
    }
    const wrong = new TelegramConnector({ botToken: '1:wrong', baseUrl: fake.url });
    await expect(wrong.send(outboundMessage('555', { type: 'text', content: 'hi' }))).rejects.toMatchObject({
      errorClass: 'auth',
      providerCode: '401',
      isPermanent: true,
    });
  });

  it('reads retry_after from the body of a 429', async () => {
    fake.fail({ kind: 'rate-limit', retryAfterSeconds: 0 });
    await expect(connector.send(outboundMessage('555', { type: 'text', content: 'hi' }))).rejects.toMatchObject({
      errorClass: 'rate-limited',
      retryAfterMs: 0,
      providerCode: '429',
    });
  });

  it('refuses templates and oversized files without calling Telegram', async () => {
    await expect(connector.send(outboundMessage('555', { type: 'template', name: 'x', language: 'en' }))).rejects.toBeInstanceOf(ConnectorError);
    const huge = { ...outboundFile(Buffer.alloc(0), 'application/octet-stream', 'big.bin'), sizeBytes: 51 * 1024 ** 2 };
    await expect(connector.send(outboundMessage('555', { type: 'file', file_id: 'f4' }, huge))).rejects.toMatchObject({ errorClass: 'invalid-request' });
    expect(fake.requests).toEqual([]);
  });
});
