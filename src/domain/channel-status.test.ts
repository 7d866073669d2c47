import { describe, expect, it } from 'vitest';
import { isCoveredByWatermark, nextChannelStatus, canMoveDelivery } from './channel-status.ts';
import type { ChannelStatus } from './inbound-event.ts';
import type { MessageStatus } from './message.ts';

/** Applies reports in arrival order, as the webhook consumer would. */
const replay = (start: MessageStatus, reports: ChannelStatus[]) => reports.reduce((s, r) => nextChannelStatus(s, r) ?? s, start);

describe('nextChannelStatus', () => {
  it('moves sent → delivered → read', () => {
    expect(nextChannelStatus('accepted', 'sent')).toBe('sent');
    expect(nextChannelStatus('sent', 'delivered')).toBe('delivered');
    expect(nextChannelStatus('delivered', 'read')).toBe('read');
  });

  it('skips a receipt that never came', () => {
    expect(nextChannelStatus('sent', 'read')).toBe('read');
    expect(nextChannelStatus('accepted', 'delivered')).toBe('delivered');
  });

  it('changes nothing on a late delivered after read, or a repeated report', () => {
    expect(nextChannelStatus('read', 'delivered')).toBeUndefined();
    expect(nextChannelStatus('read', 'sent')).toBeUndefined();
    expect(nextChannelStatus('delivered', 'delivered')).toBeUndefined();
    expect(nextChannelStatus('sent', 'sent')).toBeUndefined();
  });

  it('treats failed as terminal, reachable only before delivery', () => {
    expect(nextChannelStatus('sent', 'failed')).toBe('failed');
    expect(nextChannelStatus('accepted', 'failed')).toBe('failed');
    for (const r of ['sent', 'delivered', 'read', 'failed'] satisfies ChannelStatus[]) expect(nextChannelStatus('failed', r)).toBeUndefined();
    expect(nextChannelStatus('delivered', 'failed')).toBeUndefined();
    expect(nextChannelStatus('read', 'failed')).toBeUndefined();
  });

  it('ends in the same status whatever order the reports arrive in', () => {
    expect(replay('sent', ['delivered', 'read'])).toBe('read');
    expect(replay('sent', ['read', 'delivered'])).toBe('read');
    expect(replay('sent', ['read', 'delivered', 'read', 'sent'])).toBe('read');
  });
});

describe('isCoveredByWatermark', () => {
  const watermark = new Date('2025-01-01T12:00:00.000Z');
  it('covers messages the platform accepted at or before the watermark', () => {
    expect(isCoveredByWatermark(new Date('2025-01-01T11:59:59.999Z'), watermark)).toBe(true);
    expect(isCoveredByWatermark(watermark, watermark)).toBe(true);
  });
  it('does not cover later messages or ones still being sent', () => {
    expect(isCoveredByWatermark(new Date('2025-01-01T12:00:00.001Z'), watermark)).toBe(false);
    expect(isCoveredByWatermark(null, watermark)).toBe(false);
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
