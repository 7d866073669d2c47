/** The inbound building blocks' errors reach clients as the statuses the contract promises. */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkChannelSend } from '../../../src/domain/channel-send.ts';
import { handleError } from '../../../src/http/problem.ts';
import { parseWhatsAppWebhook } from '../../../src/http/webhooks/whatsapp.ts';
import { invalidSignature, verifyTokenMismatch } from '../../../src/http/webhooks/signatures.ts';

const server = Fastify();
server.setErrorHandler(handleError);
const now = new Date('2025-01-03T00:00:00Z');
const routes: Record<string, () => unknown> = {
  'window-closed': () =>
    checkChannelSend({ channel: 'whatsapp', payload: { type: 'text', content: 'hi' }, lastInboundAt: new Date('2025-01-01T00:00:00Z'), now }),
  template: () => checkChannelSend({ channel: 'telegram', payload: { type: 'template', name: 'x', language: 'en' }, lastInboundAt: null, now }),
  malformed: () => parseWhatsAppWebhook({ object: 'whatsapp_business_account', entry: 'nope' }),
  signature: () => {
    throw invalidSignature();
  },
  'verify-token': () => {
    throw verifyTokenMismatch();
  },
};
for (const [path, run] of Object.entries(routes)) server.get(`/${path}`, async () => run());

beforeAll(() => server.ready());
afterAll(() => server.close());

describe('inbound error mapping', () => {
  it.each([
    ['window-closed', 422, 'channel-window-closed'],
    ['template', 400, 'template-not-supported'],
    ['malformed', 400, 'invalid-webhook'],
    ['signature', 401, 'invalid-signature'],
    ['verify-token', 403, 'invalid-verify-token'],
  ])('%s → %i %s', async (path, status, code) => {
    const res = await server.inject({ method: 'GET', url: `/${path}` });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status, code });
  });

  it('names the offending field of a malformed webhook', async () => {
    const res = await server.inject({ method: 'GET', url: '/malformed' });
    expect(res.json().errors).toEqual([{ path: '/entry', message: 'must be an array' }]);
  });
});
