/**
 * What the platforms' webhooks tell us, in our own terms. Parsers at the edge (src/http/webhooks)
 * turn each platform's payload into a list of these; the use cases that store contacts, messages
 * and statuses only ever see this shape.
 */
import type { ExternalChannel } from './message.ts';

export const INBOUND_MEDIA_KINDS = ['image', 'document', 'audio', 'video', 'sticker'] as const;
export type InboundMediaKind = (typeof INBOUND_MEDIA_KINDS)[number];

/** A file the person sent. Fetch it later by `providerMediaId` (WhatsApp, Telegram) or `url` (Meta CDN). */
export interface InboundMedia {
  kind: InboundMediaKind;
  providerMediaId?: string;
  url?: string;
  mimeType?: string;
  filename?: string;
  caption?: string;
}

interface Envelope {
  channel: ExternalChannel;
  /** Dedupe key, unique per channel: a redelivered webhook yields the same id. */
  providerEventId: string;
  /** Our account on the platform the event was addressed to (phone number id, page id, IG account id). */
  accountId?: string;
}

/** A person wrote to us. */
export interface InboundMessage extends Envelope {
  kind: 'message';
  /** Whom to answer: Telegram chat id, WhatsApp wa_id, Messenger PSID, Instagram IGSID. */
  externalUserId: string;
  /** The platform's id of this message (Telegram message_id, wamid, mid), for replies that quote it. */
  externalMessageId: string;
  displayName?: string;
  at: Date;
  text?: string;
  media?: InboundMedia;
  replyToExternalId?: string;
}

/** Statuses a platform reports for a message we sent. `accepted` is ours alone. */
export const CHANNEL_STATUSES = ['sent', 'delivered', 'read', 'failed'] as const;
export type ChannelStatus = (typeof CHANNEL_STATUSES)[number];
export const isChannelStatus = (s: string): s is ChannelStatus => (CHANNEL_STATUSES as readonly string[]).includes(s);

/** The platform reports on one message we sent, named by its id. */
export interface InboundStatus extends Envelope {
  kind: 'status';
  externalMessageId: string;
  status: ChannelStatus;
  at: Date;
  /** The recipient, when the platform says (WhatsApp recipient_id, Meta sender). */
  externalUserId?: string;
  error?: { providerCode: string; detail: string };
}

/**
 * The platform reports on every message we sent to one person up to a moment, without naming
 * them (Messenger's delivery and read watermarks): each message sent to `externalUserId` at or
 * before `watermark` has reached `status`. Kept apart from InboundStatus because it addresses a
 * set of messages, not one.
 */
export interface InboundWatermark extends Envelope {
  kind: 'watermark';
  externalUserId: string;
  status: 'delivered' | 'read';
  watermark: Date;
  at: Date;
}

/** A person changed the text of a message they sent us (Telegram `edited_message`, Messenger `message_edits`). */
export interface InboundEdit extends Envelope {
  kind: 'edit';
  externalUserId: string;
  /** The platform's id of the edited message. */
  externalMessageId: string;
  text: string;
  at: Date;
}

/**
 * A person's reactions on a message (theirs or ours) are now `emojis`; empty when they took theirs
 * back. Platforms report the whole new state (Telegram `new_reaction`) or one reaction per person
 * (WhatsApp, Messenger), so this is a set, not an add.
 */
export interface InboundReaction extends Envelope {
  kind: 'reaction';
  externalUserId: string;
  /** The platform's id of the message reacted to. */
  externalMessageId: string;
  emojis: string[];
  at: Date;
}

/** Something valid that we do not act on (echoes of our own sends, group chats, locations, …). */
export interface InboundIgnored {
  kind: 'ignored';
  channel: ExternalChannel;
  providerEventId?: string;
  reason: string;
}

export type InboundEvent = InboundMessage | InboundStatus | InboundWatermark | InboundEdit | InboundReaction | InboundIgnored;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes a person's text storable without losing the message: NUL (which PostgreSQL text refuses)
 * is removed and each unpaired surrogate becomes U+FFFD. Everything else is kept as sent.
 */
export function sanitizeInboundText(text: string): string {
  return text.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD');
}
