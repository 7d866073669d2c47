import { describe, expect, it } from 'vitest';
import { checkChannelSend, isWindowOpen } from './channel-send.ts';
import type { Payload as ChannelPayload } from './message.ts';
import { DomainError } from './errors.ts';
import type { Channel } from './message.ts';

const HOUR = 3_600_000;
const lastInboundAt = new Date('2025-01-01T12:00:00.000Z');
const after = (ms: number) => new Date(lastInboundAt.getTime() + ms);
const text: ChannelPayload = { type: 'text', content: 'Hello' };
const file: ChannelPayload = { type: 'file', file_id: '0b7f3a4e-5f2c-4c1e-9a8b-2d6e1f0c9a11' };
const template: ChannelPayload = { type: 'template', name: 'order_update', language: 'pt_BR', components: [] };

function refusal(send: Parameters<typeof checkChannelSend>[0]): DomainError {
  try {
    checkChannelSend(send);
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('the send was allowed');
}

describe('isWindowOpen', () => {
  it('is open for 24 hours after the last inbound message, and closed from then on', () => {
    expect(isWindowOpen(lastInboundAt, lastInboundAt)).toBe(true);
    expect(isWindowOpen(lastInboundAt, after(24 * HOUR - 1))).toBe(true);
    expect(isWindowOpen(lastInboundAt, after(24 * HOUR))).toBe(false);
    expect(isWindowOpen(lastInboundAt, after(30 * 24 * HOUR))).toBe(false);
  });
  it('is closed for a contact who never wrote', () => {
    expect(isWindowOpen(null, lastInboundAt)).toBe(false);
  });
  it('honours another window length', () => {
    expect(isWindowOpen(lastInboundAt, after(25 * HOUR), 168)).toBe(true);
    expect(isWindowOpen(lastInboundAt, after(2 * HOUR), 1)).toBe(false);
  });
  it('counts a last message stamped in the future as just now', () => {
    expect(isWindowOpen(after(5_000), lastInboundAt)).toBe(true);
  });
});

describe('checkChannelSend', () => {
  it('lets free-form WhatsApp messages through inside the window', () => {
    for (const payload of [text, file]) expect(() => checkChannelSend({ channel: 'whatsapp', payload, lastInboundAt, now: after(23 * HOUR) })).not.toThrow();
  });

  it('refuses a free-form WhatsApp message after 24 hours with 422 channel-window-closed', () => {
    const e = refusal({ channel: 'whatsapp', payload: text, lastInboundAt, now: after(24 * HOUR + 1) });
    expect([e.kind, e.code]).toEqual(['unprocessable', 'channel-window-closed']);
    expect(e.details).toEqual({ channel: 'whatsapp', last_inbound_at: '2025-01-01T12:00:00.000Z', window_closed_at: '2025-01-02T12:00:00.000Z' });
    expect(refusal({ channel: 'whatsapp', payload: file, lastInboundAt, now: after(48 * HOUR) }).code).toBe('channel-window-closed');
  });

  it('refuses a free-form WhatsApp message to a contact who never wrote', () => {
    const e = refusal({ channel: 'whatsapp', payload: text, lastInboundAt: null, now: lastInboundAt });
    expect(e.code).toBe('channel-window-closed');
    expect(e.details).toMatchObject({ last_inbound_at: null, window_closed_at: null });
  });

  it('allows a WhatsApp template at any time', () => {
    for (const last of [lastInboundAt, null])
      expect(() => checkChannelSend({ channel: 'whatsapp', payload: template, lastInboundAt: last, now: after(100 * 24 * HOUR) })).not.toThrow();
  });

  it('refuses a template on every other channel with 400 template-not-supported', () => {
    for (const channel of ['internal', 'telegram', 'messenger', 'instagram'] satisfies Channel[]) {
      const e = refusal({ channel, payload: template, lastInboundAt, now: after(HOUR) });
      expect([e.kind, e.code, e.details.channel]).toEqual(['invalid', 'template-not-supported', channel]);
    }
  });

  it('applies no window to the other channels', () => {
    for (const channel of ['internal', 'telegram', 'messenger', 'instagram'] satisfies Channel[]) {
      expect(() => checkChannelSend({ channel, payload: text, lastInboundAt: null, now: after(100 * 24 * HOUR) })).not.toThrow();
    }
  });
});
