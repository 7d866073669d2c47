/** The platforms' rules that are ours to enforce at accept time (CONTRACT.md "Channels"). */
import { invalid, unprocessable } from './errors.ts';
import type { ExternalChannel, Payload } from './message.ts';

const HOUR_MS = 3_600_000;

/** WhatsApp's customer-service window: open while the contact's last message is younger than `hours`. */
export function isWindowOpen(lastInboundAt: Date | null, now: Date, hours = 24): boolean {
  return lastInboundAt !== null && now.getTime() - lastInboundAt.getTime() < hours * HOUR_MS;
}

/**
 * A send to a contact: templates only on WhatsApp (400 template-not-supported elsewhere); on
 * WhatsApp a free-form message needs the window open (422 channel-window-closed), a template does not.
 */
export function checkChannelSend(send: { channel: ExternalChannel; payload: Payload; lastInboundAt: Date | null; now: Date; windowHours?: number }): void {
  const isTemplate = send.payload.type === 'template';
  if (isTemplate && send.channel !== 'whatsapp') throw invalid('template-not-supported', `${send.channel} does not support template messages; only WhatsApp does`);
  if (send.channel === 'whatsapp' && !isTemplate && !isWindowOpen(send.lastInboundAt, send.now, send.windowHours)) {
    throw unprocessable('channel-window-closed', `The contact's last message is more than ${send.windowHours ?? 24} hours old: WhatsApp accepts only a template message until they write again`, {
      last_inbound_at: send.lastInboundAt?.toISOString() ?? null,
    });
  }
}

/** Forward-only per-channel statuses: pending → sent → delivered → read; failed ends a delivery not yet delivered. */
const RANK = { pending: 0, sent: 1, delivered: 2, read: 3 } as const;
export type DeliveryStatus = keyof typeof RANK | 'failed';

export function canMoveDelivery(from: DeliveryStatus, to: DeliveryStatus): boolean {
  if (from === 'failed') return false;
  if (to === 'failed') return from === 'pending' || from === 'sent';
  return RANK[to] > RANK[from];
}
