/**
 * Rules for sending to an external channel that are ours to enforce before a platform is called:
 * WhatsApp's customer-service window and which channels take template messages.
 */
import { invalid, unprocessable } from './errors.ts';
import type { Channel, Payload } from './message.ts';

/** WhatsApp lets a business answer free-form for 24 hours after the person's last message. */
export const WHATSAPP_WINDOW_HOURS = 24;

/**
 * Whether a free-form message may still be sent: the person wrote less than `hours` ago. Never
 * written to us → closed. A last message stamped in the future (clock skew) counts as just now.
 */
export function isWindowOpen(lastInboundAt: Date | null, now: Date, hours = WHATSAPP_WINDOW_HOURS): boolean {
  if (!lastInboundAt) return false;
  return now.getTime() - lastInboundAt.getTime() < hours * 3_600_000;
}

export interface ChannelSend {
  channel: Channel;
  payload: Payload;
  /** When the contact last wrote to us on this channel; null if never. */
  lastInboundAt: Date | null;
  now: Date;
  windowHours?: number;
}

/**
 * Throws when the send must be refused before anything is stored: a template to a channel other
 * than WhatsApp (400 `template-not-supported`), or a free-form WhatsApp message outside the window
 * (422 `channel-window-closed`; the client can send a template instead).
 */
export function checkChannelSend({ channel, payload, lastInboundAt, now, windowHours = WHATSAPP_WINDOW_HOURS }: ChannelSend): void {
  if (payload.type === 'template') {
    if (channel !== 'whatsapp') throw invalid('template-not-supported', `Template messages are only supported on WhatsApp, not on ${channel}`, { channel });
    return;
  }
  if (channel !== 'whatsapp' || isWindowOpen(lastInboundAt, now, windowHours)) return;
  throw unprocessable(
    'channel-window-closed',
    lastInboundAt
      ? `The contact last wrote more than ${windowHours} hours ago; WhatsApp only accepts a template message now`
      : 'The contact has never written to us on WhatsApp; only a template message can start the conversation',
    {
      channel,
      last_inbound_at: lastInboundAt?.toISOString() ?? null,
      window_closed_at: lastInboundAt ? new Date(lastInboundAt.getTime() + windowHours * 3_600_000).toISOString() : null,
    },
  );
}
