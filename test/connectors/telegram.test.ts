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

  describe('replies and changes of sent messages', () => {
    const ref = (externalId: string) => ({ messageId: 'm', to: '555', externalId });

    it('replies with reply_parameters naming the original message_id', async () => {
      const { externalId: original } = await connector.send(outboundMessage('555', { type: 'text', content: 'question?' }));
      const reply = await connector.send({ ...outboundMessage('555', { type: 'text', content: 'answer' }), replyTo: original });
      expect(fake.requests[1].body).toEqual({
        chat_id: '555',
        text: 'answer',
        reply_parameters: { message_id: Number(original), allow_sending_without_reply: true },
      });
      expect(fake.message('555', reply.externalId)?.replyTo).toBe(Number(original));
    });

    it('edits with editMessageText and treats "message is not modified" as done', async () => {
      const { externalId } = await connector.send(outboundMessage('555', { type: 'text', content: 'v1' }));
      await connector.editText!(ref(externalId), 'v2');
      await connector.editText!(ref(externalId), 'v2');
      expect(fake.requests.slice(1).map((r) => [r.path, r.body])).toEqual([
        [`/bot${fake.token}/editMessageText`, { chat_id: '555', message_id: Number(externalId), text: 'v2' }],
        [`/bot${fake.token}/editMessageText`, { chat_id: '555', message_id: Number(externalId), text: 'v2' }],
      ]);
      expect(fake.message('555', externalId)).toMatchObject({ text: 'v2', edits: 1 });
    });

    it('deletes with deleteMessage; a message already gone counts as deleted', async () => {
      const { externalId } = await connector.send(outboundMessage('555', { type: 'text', content: 'oops' }));
      await connector.deleteMessage!(ref(externalId));
      await connector.deleteMessage!(ref(externalId));
      expect(fake.requests[1]).toMatchObject({ path: `/bot${fake.token}/deleteMessage`, body: { chat_id: '555', message_id: Number(externalId) } });
      expect(fake.message('555', externalId)?.isDeleted).toBe(true);
    });

    it("sets a reaction with setMessageReaction (Telegram's form of the emoji) and removes it with an empty list", async () => {
      const { externalId } = await connector.send(outboundMessage('555', { type: 'text', content: 'nice' }));
      await connector.setReaction!(ref(externalId), '❤️');
      expect(fake.message('555', externalId)?.reaction).toEqual([{ type: 'emoji', emoji: '❤' }]);
      await connector.setReaction!(ref(externalId), undefined);
      expect(fake.requests.slice(1).map((r) => r.body)).toEqual([
        { chat_id: '555', message_id: Number(externalId), reaction: [{ type: 'emoji', emoji: '❤' }] },
        { chat_id: '555', message_id: Number(externalId), reaction: [] },
      ]);
      expect(fake.message('555', externalId)?.reaction).toEqual([]);
    });

    it("refuses an emoji outside Telegram's set without a request, and classifies an unknown message as a permanent error", async () => {
      await expect(connector.setReaction!(ref('1'), '🦆')).rejects.toMatchObject({ errorClass: 'invalid-request' });
      expect(fake.requests).toEqual([]);
      await expect(connector.editText!(ref('999999'), 'x')).rejects.toMatchObject({ errorClass: 'invalid-request', isPermanent: true, providerCode: '400' });
    });
  });
});
