/**
 * Messenger and Instagram webhooks → InboundEvent. Both use Meta's `entry[].messaging[]` shape
 * (https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events,
 * https://developers.facebook.com/documentation/business-messaging/instagram-messaging/webhooks);
 * they differ in `object` and in how reads are reported (Messenger: a watermark; Instagram: a mid).
 */
import type { InboundEvent, InboundMedia, InboundMediaKind } from '../../domain/inbound-event.ts';
import { array, compact, inboundMedia, invalidWebhook, optArray, optRecord, optString, optText, record, string, unixMillis, type Json } from './fields.ts';

type MetaChannel = 'messenger' | 'instagram';

export const parseMessengerWebhook = (body: unknown) => parseMetaMessaging(body, 'messenger', 'page');
export const parseInstagramWebhook = (body: unknown) => parseMetaMessaging(body, 'instagram', 'instagram');

const ATTACHMENT_KINDS: Record<string, InboundMediaKind> = { image: 'image', video: 'video', audio: 'audio', file: 'document', sticker: 'sticker' };

function parseMetaMessaging(body: unknown, channel: MetaChannel, object: string): InboundEvent[] {
  const root = record(body, '');
  if (root.object !== object) throw invalidWebhook('/object', `"${object}"`);
  return array(root.entry, '/entry').flatMap((e, i) => {
    const path = `/entry/${i}`;
    const entry = record(e, path);
    const accountId = string(entry.id, `${path}/id`);
    // `standby` (another app owns the thread) and `changes` (comments, mentions) are not ours to answer.
    const others = ['standby', 'changes'].filter((k) => k in entry).map((k): InboundEvent => ({ kind: 'ignored', channel, reason: `unsupported-field:${k}` }));
    const events = optArray(entry.messaging, `${path}/messaging`).flatMap((m, j) =>
      parseItem(record(m, `${path}/messaging/${j}`), `${path}/messaging/${j}`, channel, accountId),
    );
    return [...events, ...others];
  });
}

function parseItem(item: Json, path: string, channel: MetaChannel, accountId: string): InboundEvent[] {
  const sender = string(record(item.sender, `${path}/sender`).id, `${path}/sender/id`);
  const ctx = { channel, accountId, sender, path };
  if (item.message !== undefined) return parseMessage(record(item.message, `${path}/message`), item, ctx);
  if (item.delivery !== undefined) return parseDelivery(record(item.delivery, `${path}/delivery`), item, ctx);
  if (item.read !== undefined) return parseRead(record(item.read, `${path}/read`), item, ctx);
  if (item.reaction !== undefined) return parseReaction(record(item.reaction, `${path}/reaction`), item, ctx);
  if (item.message_edit !== undefined) return parseEdit(record(item.message_edit, `${path}/message_edit`), item, ctx);
  const kind = Object.keys(item).find((k) => !['sender', 'recipient', 'timestamp'].includes(k)) ?? 'none';
  return [{ kind: 'ignored', channel, reason: `unsupported-event:${kind}` }];
}

interface Context {
  channel: MetaChannel;
  accountId: string;
  sender: string;
  path: string;
}

/**
 * A message with several attachments becomes one event per attachment (our messages hold one
 * file); the first carries the text and the mid, the others `mid#2`, `mid#3`… so that a
 * redelivery dedupes each of them.
 */
function parseMessage(m: Json, item: Json, { channel, accountId, sender, path }: Context): InboundEvent[] {
  const mid = string(m.mid, `${path}/message/mid`);
  // Echoes are our own sends coming back (Messenger `message_echoes`, Instagram `messages`).
  if (m.is_echo === true || sender === accountId) return [{ kind: 'ignored', channel, providerEventId: mid, reason: 'echo' }];
  if (m.is_deleted === true) return [{ kind: 'ignored', channel, providerEventId: mid, reason: 'deleted' }];
  const at = unixMillis(item.timestamp, `${path}/timestamp`);
  const text = optText(m.text, `${path}/message/text`);
  const media = attachmentsOf(m, `${path}/message`);
  if (text === undefined && media.length === 0) return [{ kind: 'ignored', channel, providerEventId: mid, reason: 'unsupported-message' }];
  const replyTo = optString(optRecord(m.reply_to, `${path}/message/reply_to`)?.mid, `${path}/message/reply_to/mid`);
  const parts: { text?: string; media?: InboundMedia }[] = media.length === 0 ? [{ text }] : media.map((f, k) => (k === 0 ? { text, media: f } : { media: f }));
  return parts.map((part, k) =>
    compact({
      kind: 'message' as const,
      channel,
      accountId,
      providerEventId: k === 0 ? mid : `${mid}#${k + 1}`,
      externalUserId: sender,
      externalMessageId: mid,
      at,
      ...part,
      replyToExternalId: replyTo,
    }),
  );
}

/**
 * The files we can fetch; shares, reels, story mentions, templates and fallbacks are links we
 * skip. Messenger sends a sticker as an `image` with a `sticker_id` and, while it migrates, also
 * as a `sticker` attachment: the pair becomes one sticker.
 */
function attachmentsOf(m: Json, path: string): InboundMedia[] {
  const found = optArray(m.attachments, `${path}/attachments`).flatMap((a, k) => {
    const at = `${path}/attachments/${k}`;
    const attachment = record(a, at);
    const type = string(attachment.type, `${at}/type`);
    const payload = optRecord(attachment.payload, `${at}/payload`);
    const url = optString(payload?.url, `${at}/payload/url`);
    const kind = Object.hasOwn(ATTACHMENT_KINDS, type) ? ATTACHMENT_KINDS[type] : undefined;
    return kind && url ? [{ kind, url, isStickerImage: kind === 'image' && payload?.sticker_id !== undefined }] : [];
  });
  const hasSticker = found.some((f) => f.kind === 'sticker');
  return found.filter((f) => !(hasSticker && f.isStickerImage)).map((f) => inboundMedia(f.isStickerImage ? 'sticker' : f.kind, { url: f.url }));
}

/** Messenger delivery: per-message receipts when `mids` is there, and always a watermark. */
function parseDelivery(d: Json, item: Json, { channel, accountId, sender, path }: Context): InboundEvent[] {
  const watermark = unixMillis(d.watermark, `${path}/delivery/watermark`);
  const at = item.timestamp === undefined ? watermark : unixMillis(item.timestamp, `${path}/timestamp`);
  const statuses = optArray(d.mids, `${path}/delivery/mids`).map((v, k): InboundEvent => {
    const mid = string(v, `${path}/delivery/mids/${k}`);
    return { kind: 'status', channel, accountId, providerEventId: `${mid}:delivered`, externalMessageId: mid, status: 'delivered', at, externalUserId: sender };
  });
  const mark: InboundEvent = {
    kind: 'watermark',
    channel,
    accountId,
    providerEventId: `${sender}:delivered:${watermark.getTime()}`,
    externalUserId: sender,
    status: 'delivered',
    watermark,
    at,
  };
  return [...statuses, mark];
}

/** Messenger reads carry a watermark; Instagram's `messaging_seen` names the message read. */
function parseRead(r: Json, item: Json, { channel, accountId, sender, path }: Context): InboundEvent[] {
  if (r.mid !== undefined) {
    const mid = string(r.mid, `${path}/read/mid`);
    const at = unixMillis(item.timestamp, `${path}/timestamp`);
    return [{ kind: 'status', channel, accountId, providerEventId: `${mid}:read`, externalMessageId: mid, status: 'read', at, externalUserId: sender }];
  }
  const watermark = unixMillis(r.watermark, `${path}/read/watermark`);
  const at = item.timestamp === undefined ? watermark : unixMillis(item.timestamp, `${path}/timestamp`);
  return [
    { kind: 'watermark', channel, accountId, providerEventId: `${sender}:read:${watermark.getTime()}`, externalUserId: sender, status: 'read', watermark, at },
  ];
}

/**
 * `message_reactions`: one reaction per person on a message (ours or theirs); `unreact` takes it
 * back. The event has no id of its own, so the person, message and time name it.
 * https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-reactions
 */
function parseReaction(r: Json, item: Json, { channel, accountId, sender, path }: Context): InboundEvent[] {
  if (sender === accountId) return [{ kind: 'ignored', channel, reason: 'echo' }];
  const mid = string(r.mid, `${path}/reaction/mid`);
  const action = string(r.action, `${path}/reaction/action`);
  const at = unixMillis(item.timestamp, `${path}/timestamp`);
  const emoji = optString(r.emoji, `${path}/reaction/emoji`);
  if (action !== 'react' && action !== 'unreact') return [{ kind: 'ignored', channel, reason: `unsupported-reaction:${action}` }];
  const emojis = action === 'react' && emoji ? [emoji] : [];
  return [
    {
      kind: 'reaction',
      channel,
      accountId,
      providerEventId: `reaction:${mid}:${sender}:${at.getTime()}`,
      externalUserId: sender,
      externalMessageId: mid,
      emojis,
      at,
    },
  ];
}

/**
 * `message_edits`: the person's new text of a message they sent; `num_edit` counts the edits, so
 * each one is stored once.
 * https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-edits
 */
function parseEdit(e: Json, item: Json, { channel, accountId, sender, path }: Context): InboundEvent[] {
  if (sender === accountId) return [{ kind: 'ignored', channel, reason: 'echo' }];
  const mid = string(e.mid, `${path}/message_edit/mid`);
  const text = optText(e.text, `${path}/message_edit/text`);
  if (text === undefined) return [{ kind: 'ignored', channel, providerEventId: mid, reason: 'unsupported-edit:not-text' }];
  const edits = e.num_edit === undefined ? unixMillis(item.timestamp, `${path}/timestamp`).getTime() : Number(e.num_edit);
  const at = unixMillis(item.timestamp, `${path}/timestamp`);
  return [{ kind: 'edit', channel, accountId, providerEventId: `edit:${mid}:${edits}`, externalUserId: sender, externalMessageId: mid, text, at }];
}
