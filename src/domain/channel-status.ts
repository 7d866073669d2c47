/**
 * How a platform's report moves the status of a message on one channel. Reports arrive late,
 * twice and out of order; the status only moves forward (the machine in message.ts).
 */
import type { ChannelStatus } from './inbound-event.ts';
import { canTransition, type MessageStatus } from './message.ts';

/**
 * The status after a report, or undefined when the report changes nothing: a repeat, a step
 * backwards (`delivered` after `read`), or anything after `failed`. Steps may be skipped
 * (`sent` → `read` when the delivery receipt never came).
 */
export function nextChannelStatus(current: MessageStatus, reported: ChannelStatus): MessageStatus | undefined {
  return canTransition(current, reported) ? reported : undefined;
}

/**
 * Whether a watermark receipt (Messenger: "everything sent to this person until then") covers a
 * message: only one the platform had accepted (`sentAt` set) at or before the watermark. A
 * message still being sent is not covered, even if it was created earlier.
 */
export function isCoveredByWatermark(sentAt: Date | null, watermark: Date): boolean {
  return sentAt !== null && sentAt.getTime() <= watermark.getTime();
}

/** A channel delivery's status: pending (not yet accepted by the platform), then the platform's. */
const RANK = { pending: 0, sent: 1, delivered: 2, read: 3 } as const;
export type DeliveryStatus = keyof typeof RANK | 'failed';

/** Forward only: pending → sent → delivered → read; failed ends a delivery that has not reached the person, and is final. */
export function canMoveDelivery(from: DeliveryStatus, to: DeliveryStatus): boolean {
  if (from === 'failed') return false;
  if (to === 'failed') return from === 'pending' || from === 'sent';
  return RANK[to] > RANK[from];
}
