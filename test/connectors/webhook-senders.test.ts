/** The fakes' webhook senders sign the exact bytes they send, as Meta and Telegram do. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { messengerDeliveryWebhook, postMetaWebhook, verifyMetaSubscription, whatsappStatusWebhook } from '../fakes/meta.ts';
import { postTelegramUpdate, telegramTextUpdate } from '../fakes/telegram.ts';

describe('webhook senders', () => {
  const received: Array<{ url: string; headers: IncomingHttpHeaders; raw: Buffer }> = [];
  let server: Server;
  let url = '';
  const last = () => {
    const r = received.at(-1);
    if (!r) throw new Error('nothing received');
    return r;
  };
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('signs the raw body with HMAC-SHA256 of the app secret in X-Hub-Signature-256', async () => {
    const payload = whatsappStatusWebhook({ phoneNumberId: '1' }, { wamid: 'wamid.X', status: 'delivered', recipientId: '15551234567' });
    await postMetaWebhook(url, payload, 's3cret');
    const r = last();
    expect(r.headers['x-hub-signature-256']).toBe(`sha256=${createHmac('sha256', 's3cret').update(r.raw).digest('hex')}`);
    const body = JSON.parse(r.raw.toString('utf8'));
    expect(body.object).toBe('whatsapp_business_account');
    expect(body.entry[0].changes[0]).toMatchObject({
      field: 'messages',
      value: { metadata: { phone_number_id: '1' }, statuses: [{ id: 'wamid.X', status: 'delivered', recipient_id: '15551234567' }] },
    });
  });

  it('can send a wrong signature or none', async () => {
    await postMetaWebhook(url, messengerDeliveryWebhook('p', 'u', ['m_1']), 's3cret', { signature: 'sha256=00' });
    expect(last().headers['x-hub-signature-256']).toBe('sha256=00');
    await postMetaWebhook(url, messengerDeliveryWebhook('p', 'u', ['m_1']), 's3cret', { signature: null });
    expect(last().headers['x-hub-signature-256']).toBeUndefined();
  });

  it('performs the subscription handshake with hub.* query parameters', async () => {
    await verifyMetaSubscription(url, 'vt', '1158201444');
    expect(new URL(last().url, 'http://x').searchParams.get('hub.challenge')).toBe('1158201444');
  });

  it('sends Telegram updates with the secret token header', async () => {
    await postTelegramUpdate(url, telegramTextUpdate({ updateId: 7, messageId: 1, from: { id: 42, first_name: 'Ana' }, text: 'oi' }), 'tg-secret');
    const r = last();
    expect(r.headers['x-telegram-bot-api-secret-token']).toBe('tg-secret');
    expect(JSON.parse(r.raw.toString('utf8'))).toMatchObject({ update_id: 7, message: { text: 'oi', chat: { id: 42, type: 'private' } } });
  });
});
