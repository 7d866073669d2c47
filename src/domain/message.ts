/** Message model and the monotonic status machine. */
import { firstCodePoints } from './text.ts';

export const CHANNELS = ['whatsapp', 'instagram', 'messenger', 'telegram'] as const;
export type ExternalChannel = (typeof CHANNELS)[number];
export type Channel = 'internal' | ExternalChannel;

export const MESSAGE_STATUSES = ['accepted', 'sent', 'delivered', 'read', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

const rank: Record<MessageStatus, number> = { accepted: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/**
 * Statuses only move forward: accepted → sent → delivered → read. `failed` is terminal and can be
 * reached from any non-final state (a replay from the dead-letter queue resets it explicitly).
 */
export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  if (from === 'failed') return false;
  if (to === 'failed') return from !== 'read' && from !== 'delivered';
  return rank[to] > rank[from];
}

export type TextPayload = { type: 'text'; content: string };
/** `caption`: only on media a contact sent (the text that came with the file); senders cannot set it. */
export type FilePayload = { type: 'file'; file_id: string; filename?: string; size_bytes?: number; mime_type?: string; caption?: string };
/** A WhatsApp message template: the only content WhatsApp accepts outside its 24 h customer-service window. */
export type TemplatePayload = { type: 'template'; name: string; language: string; components?: unknown[] };
export type Payload = TextPayload | FilePayload | TemplatePayload;

/**
 * Expands the requested channels: `all` means internal plus every external channel; duplicates
 * are removed and the order is stable so that equal requests compare equal (idempotency).
 */
export function normaliseChannels(requested: readonly string[] | undefined): Channel[] {
  const asked = requested && requested.length > 0 ? requested : ['internal'];
  const set = new Set<Channel>();
  for (const c of asked) {
    if (c === 'all') {
      set.add('internal');
      CHANNELS.forEach((x) => set.add(x));
    } else set.add(c as Channel);
  }
  const order: Channel[] = ['internal', ...CHANNELS];
  return order.filter((c) => set.has(c));
}

/** Short preview of a payload for conversation lists. */
export function previewOf(payload: Payload): string {
  // Cut between code points: half an emoji is a lone surrogate, which is not text.
  if (payload.type === 'text') return firstCodePoints(payload.content, 100);
  if (payload.type === 'template') return `[Template] ${payload.name}`;
  return `[File] ${payload.filename ?? payload.file_id}`;
}
