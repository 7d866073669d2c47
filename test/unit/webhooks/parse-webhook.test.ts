import { describe, expect, it } from 'vitest';
import { parseWebhook } from '../../../src/http/webhooks/parse-webhook.ts';
import { webhookFixture, type Platform } from '../../support/webhook-fixtures.ts';

describe('parseWebhook', () => {
  it.each<[Platform, string]>([
    ['telegram', 'text-message'],
    ['whatsapp', 'text'],
    ['messenger', 'text'],
    ['instagram', 'text'],
  ])('routes a %s body to its parser', (channel, name) => {
    expect(parseWebhook(channel, webhookFixture(channel, name))).toEqual([expect.objectContaining({ kind: 'message', channel })]);
  });

  it('refuses a body sent to another platform’s route', () => {
    expect(() => parseWebhook('whatsapp', webhookFixture('messenger', 'text'))).toThrow(expect.objectContaining({ code: 'invalid-webhook' }));
    expect(() => parseWebhook('telegram', webhookFixture('whatsapp', 'text'))).toThrow(expect.objectContaining({ code: 'invalid-webhook' }));
  });
});
