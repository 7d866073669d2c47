/**
 * Telegram Bot API webhook → InboundEvent. One Update per request, at most one optional field set
 * besides `update_id` (https://core.telegram.org/bots/api#update).
 */
import type { InboundEvent, InboundMedia } from '../../domain/inbound-event.ts';
import { array, compact, id, inboundMedia, integer, invalidWebhook, optRecord, optString, optText, record, string, unixSeconds, type Json } from './fields.ts';

const channel = 'telegram' as const;

// Kinds of Message content we cannot turn into text or a file; named in the ignored reason.
const OTHER_CONTENT = ['location', 'venue', 'contact', 'poll', 'dice', 'game', 'invoice', 'story', 'new_chat_members', 'left_chat_member', 'pinned_message'];

/**
 * Parses one Update. A `message` in a private chat becomes a message, an `edited_message` of text
 * an edit of it, a `message_reaction` the person's new reactions; `channel_post` is the bot's
 * channel broadcasting, not a person writing to us, and group chats have no single contact to answer.
 */
export function parseTelegramUpdate(body: unknown): InboundEvent[] {
  const update = record(body, '');
  const providerEventId = String(integer(update.update_id, '/update_id'));
  if (update.message !== undefined) return [messageEvent(record(update.message, '/message'), providerEventId)];
  if (update.edited_message !== undefined) return [editEvent(record(update.edited_message, '/edited_message'), providerEventId)];
  if (update.message_reaction !== undefined) return [reactionEvent(record(update.message_reaction, '/message_reaction'), providerEventId)];
  const kind = Object.keys(update).find((k) => k !== 'update_id');
  return [{ kind: 'ignored', channel, providerEventId, reason: kind ? `unsupported-update:${kind}` : 'empty-update' }];
}

/** https://core.telegram.org/bots/api#update (edited_message): the new version of a known message; text only. */
function editEvent(m: Json, providerEventId: string): InboundEvent {
  const chat = record(m.chat, '/edited_message/chat');
  const chatType = string(chat.type, '/edited_message/chat/type');
  if (chatType !== 'private') return { kind: 'ignored', channel, providerEventId, reason: `chat-type:${chatType}` };
  const text = optText(m.text, '/edited_message/text');
  if (text === undefined) return { kind: 'ignored', channel, providerEventId, reason: 'unsupported-edit:not-text' };
  return {
    kind: 'edit',
    channel,
    providerEventId,
    externalUserId: id(chat.id, '/edited_message/chat/id'),
    externalMessageId: String(integer(m.message_id, '/edited_message/message_id')),
    text,
    at: unixSeconds(m.edit_date ?? m.date, '/edited_message/edit_date'),
  };
}

/**
 * https://core.telegram.org/bots/api#messagereactionupdated: `new_reaction` is the person's whole
 * set after the change; custom and paid reactions have no emoji and are left out.
 */
function reactionEvent(r: Json, providerEventId: string): InboundEvent {
  const path = '/message_reaction';
  const chat = record(r.chat, `${path}/chat`);
  const chatType = string(chat.type, `${path}/chat/type`);
  if (chatType !== 'private') return { kind: 'ignored', channel, providerEventId, reason: `chat-type:${chatType}` };
  const emojis = array(r.new_reaction, `${path}/new_reaction`).flatMap((x, i) => {
    const reaction = record(x, `${path}/new_reaction/${i}`);
    return reaction.type === 'emoji' ? [string(reaction.emoji, `${path}/new_reaction/${i}/emoji`)] : [];
  });
  return {
    kind: 'reaction',
    channel,
    providerEventId,
    externalUserId: id(chat.id, `${path}/chat/id`),
    externalMessageId: String(integer(r.message_id, `${path}/message_id`)),
    emojis,
    at: unixSeconds(r.date, `${path}/date`),
  };
}

function messageEvent(m: Json, providerEventId: string): InboundEvent {
  const chat = record(m.chat, '/message/chat');
  const chatType = string(chat.type, '/message/chat/type');
  const externalMessageId = String(integer(m.message_id, '/message/message_id'));
  const at = unixSeconds(m.date, '/message/date');
  if (chatType !== 'private') return { kind: 'ignored', channel, providerEventId, reason: `chat-type:${chatType}` };
  const text = optText(m.text, '/message/text');
  const media = mediaOf(m);
  if (text === undefined && media === undefined) {
    return { kind: 'ignored', channel, providerEventId, reason: `unsupported-message:${OTHER_CONTENT.find((k) => k in m) ?? 'other'}` };
  }
  const reply = optRecord(m.reply_to_message, '/message/reply_to_message');
  return compact({
    kind: 'message' as const,
    channel,
    providerEventId,
    externalUserId: id(chat.id, '/message/chat/id'),
    externalMessageId,
    displayName: displayNameOf(optRecord(m.from, '/message/from') ?? chat),
    at,
    text,
    media,
    replyToExternalId: reply ? String(integer(reply.message_id, '/message/reply_to_message/message_id')) : undefined,
  });
}

/** "First Last", else @username; Telegram users always have a first name, but be lenient. */
function displayNameOf(who: Json): string | undefined {
  const first = typeof who.first_name === 'string' ? who.first_name : '';
  const last = typeof who.last_name === 'string' ? who.last_name : '';
  const name = `${first} ${last}`.trim();
  if (name) return optText(name, '/message/from');
  return typeof who.username === 'string' && who.username ? `@${who.username}` : undefined;
}

/** The file in a message, if any. Animations also carry `document`, so they are checked first. */
function mediaOf(m: Json): InboundMedia | undefined {
  const caption = optString(m.caption, '/message/caption');
  const file = (key: string) => {
    const f = record(m[key], `/message/${key}`);
    return {
      providerMediaId: string(f.file_id, `/message/${key}/file_id`),
      mimeType: optString(f.mime_type, `/message/${key}/mime_type`),
      filename: optString(f.file_name, `/message/${key}/file_name`),
      caption,
    };
  };
  if (m.photo !== undefined) return inboundMedia('image', { providerMediaId: largestPhoto(m.photo), caption });
  if (m.animation !== undefined) return inboundMedia('video', file('animation'));
  if (m.video !== undefined) return inboundMedia('video', file('video'));
  if (m.video_note !== undefined) return inboundMedia('video', file('video_note'));
  if (m.audio !== undefined) return inboundMedia('audio', file('audio'));
  if (m.voice !== undefined) return inboundMedia('audio', file('voice'));
  if (m.sticker !== undefined) return inboundMedia('sticker', file('sticker'));
  if (m.document !== undefined) return inboundMedia('document', file('document'));
  return undefined;
}

/** `photo` lists the sizes Telegram made of one picture; keep the biggest. */
function largestPhoto(v: unknown): string {
  const sizes = array(v, '/message/photo');
  let best: { fileId: string; area: number } | undefined;
  sizes.forEach((s, i) => {
    const path = `/message/photo/${i}`;
    const size = record(s, path);
    const fileId = string(size.file_id, `${path}/file_id`);
    const area = integer(size.width, `${path}/width`) * integer(size.height, `${path}/height`);
    if (!best || area >= best.area) best = { fileId, area };
  });
  if (!best) throw invalidWebhook('/message/photo', 'a non-empty array');
  return best.fileId;
}
