import { describe, expect, it } from 'vitest';
import { canMoveDelivery, checkChannelSend, isWindowOpen } from './channel-rules.ts';
import { DomainError } from './errors.ts';

const now = new Date('2026-12-07T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
const text = { type: 'text' as const, content: 'hi' };
const template = { type: 'template' as const, name: 'order_update', language: 'en_US' };

const codeOf = (fn: () => void) => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof DomainError ? `${e.kind}:${e.code}` : 'other';
  }
};

describe('WhatsApp customer-service window', () => {
  it('is open for 24 hours after the contact last wrote, then closed', () => {
    expect(isWindowOpen(hoursAgo(23.9), now)).toBe(true);
    expect(isWindowOpen(hoursAgo(24), now)).toBe(false);
    expect(isWindowOpen(null, now)).toBe(false);
  });

  it('refuses a free-form WhatsApp message outside the window with 422 channel-window-closed', () => {
    expect(codeOf(() => checkChannelSend({ channel: 'whatsapp', payload: text, lastInboundAt: hoursAgo(25), now }))).toBe('unprocessable:channel-window-closed');
    expect(codeOf(() => checkChannelSend({ channel: 'whatsapp', payload: text, lastInboundAt: hoursAgo(1), now }))).toBeUndefined();
  });

  it('accepts a WhatsApp template at any time and refuses templates on other channels', () => {
    expect(codeOf(() => checkChannelSend({ channel: 'whatsapp', payload: template, lastInboundAt: null, now }))).toBeUndefined();
    expect(codeOf(() => checkChannelSend({ channel: 'telegram', payload: template, lastInboundAt: hoursAgo(1), now }))).toBe('invalid:template-not-supported');
  });

  it('has no window on the other channels', () => {
    expect(codeOf(() => checkChannelSend({ channel: 'telegram', payload: text, lastInboundAt: null, now }))).toBeUndefined();
  });
});

describe('per-channel delivery statuses', () => {
  it('move forward only; a late delivered after read changes nothing', () => {
    expect(canMoveDelivery('sent', 'delivered')).toBe(true);
    expect(canMoveDelivery('sent', 'read')).toBe(true);
    expect(canMoveDelivery('read', 'delivered')).toBe(false);
    expect(canMoveDelivery('delivered', 'delivered')).toBe(false);
  });

  it('end failed only before delivery, and never leave failed', () => {
    expect(canMoveDelivery('pending', 'failed')).toBe(true);
    expect(canMoveDelivery('delivered', 'failed')).toBe(false);
    expect(canMoveDelivery('failed', 'read')).toBe(false);
  });
});
