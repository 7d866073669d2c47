/**
 * WhatsApp Cloud API webhook → InboundEvent. One POST may batch several entries, each with
 * several changes, each with several messages and statuses
 * (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages).
 */
import { isChannelStatus, sanitizeInboundText, type InboundEvent, type InboundMedia, type InboundMediaKind } from '../../domain/inbound-event.ts';
import {
  array,
  compact,
  inboundMedia,
  invalidWebhook,
  optArray,
  optRecord,
  optString,
  optText,
  record,
  string,
  text,
  unixSeconds,
  type Json,
} from './fields.ts';

const channel = 'whatsapp' as const;
const MEDIA: readonly InboundMediaKind[] = ['image', 'document', 'audio', 'video', 'sticker'];

export function parseWhatsAppWebhook(body: unknown): InboundEvent[] {
  const root = record(body, '');
  if (root.object !== 'whatsapp_business_account') throw invalidWebhook('/object', '"whatsapp_business_account"');
  return array(root.entry, '/entry').flatMap((e, i) => {
    const entry = record(e, `/entry/${i}`);
    return array(entry.changes, `/entry/${i}/changes`).flatMap((c, j) => parseChange(record(c, `/entry/${i}/changes/${j}`), `/entry/${i}/changes/${j}`));
  });
}

function parseChange(change: Json, path: string): InboundEvent[] {
  const field = string(change.field, `${path}/field`);
  if (field !== 'messages') return [{ kind: 'ignored', channel, reason: `unsupported-field:${field}` }];
  const value = record(change.value, `${path}/value`);
  const accountId = optString(optRecord(value.metadata, `${path}/value/metadata`)?.phone_number_id, `${path}/value/metadata/phone_number_id`);
  const names = contactNames(value, `${path}/value/contacts`);
  const messages = optArray(value.messages, `${path}/value/messages`).map((m, k) =>
    parseMessage(record(m, `${path}/value/messages/${k}`), `${path}/value/messages/${k}`, names),
  );
  const statuses = optArray(value.statuses, `${path}/value/statuses`).map((s, k) =>
    parseStatus(record(s, `${path}/value/statuses/${k}`), `${path}/value/statuses/${k}`),
  );
  // Errors about the account or the webhook itself, not about one message: nothing to store.
  const errors = optArray(value.errors, `${path}/value/errors`).map((): InboundEvent => ({ kind: 'ignored', channel, reason: 'account-error' }));
  return [...messages, ...statuses, ...errors].map((e) => (e.kind === 'ignored' || accountId === undefined ? e : { ...e, accountId }));
}

/** wa_id → profile name, from the `contacts` array that accompanies messages. */
function contactNames(value: Json, path: string): Map<string, string> {
  const names = new Map<string, string>();
  optArray(value.contacts, path).forEach((c, i) => {
    const contact = record(c, `${path}/${i}`);
    const name = optText(optRecord(contact.profile, `${path}/${i}/profile`)?.name, `${path}/${i}/profile/name`);
    if (name) names.set(string(contact.wa_id, `${path}/${i}/wa_id`), name);
  });
  return names;
}

function parseMessage(m: Json, path: string, names: Map<string, string>): InboundEvent {
  const wamid = string(m.id, `${path}/id`);
  const from = string(m.from, `${path}/from`);
  const at = unixSeconds(m.timestamp, `${path}/timestamp`);
  const type = string(m.type, `${path}/type`);
  if (type === 'reaction') return reactionOf(m, { wamid, from, at, path });
  const content = contentOf(m, type, path);
  if (!content) return { kind: 'ignored', channel, providerEventId: wamid, reason: `unsupported-message:${type}` };
  return compact({
    kind: 'message' as const,
    channel,
    providerEventId: wamid,
    externalUserId: from,
    externalMessageId: wamid,
    displayName: names.get(from),
    at,
    ...content,
    replyToExternalId: optString(optRecord(m.context, `${path}/context`)?.id, `${path}/context/id`),
  });
}

/**
 * A reaction message names the message reacted to; one reaction per person, an absent or empty
 * emoji means they took it back:
 * https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/reaction
 */
function reactionOf(m: Json, { wamid, from, at, path }: { wamid: string; from: string; at: Date; path: string }): InboundEvent {
  const reaction = record(m.reaction, `${path}/reaction`);
  const emoji = optString(reaction.emoji, `${path}/reaction/emoji`);
  return {
    kind: 'reaction',
    channel,
    providerEventId: wamid,
    externalUserId: from,
    externalMessageId: string(reaction.message_id, `${path}/reaction/message_id`),
    emojis: emoji ? [emoji] : [],
    at,
  };
}

/** Text or a file; button and list replies become the text of the option the person tapped. */
function contentOf(m: Json, type: string, path: string): { text?: string; media?: InboundMedia } | undefined {
  const part = (key: string) => record(m[key], `${path}/${key}`);
  if (type === 'text') return { text: text(part('text').body, `${path}/text/body`) };
  if (type === 'button') return { text: text(part('button').text, `${path}/button/text`) };
  if (type === 'interactive') {
    const interactive = part('interactive');
    const reply =
      optRecord(interactive.button_reply, `${path}/interactive/button_reply`) ?? optRecord(interactive.list_reply, `${path}/interactive/list_reply`);
    return reply ? { text: text(reply.title, `${path}/interactive/title`) } : undefined;
  }
  const kind = MEDIA.find((k) => k === type);
  if (!kind) return undefined;
  const file = part(type);
  return {
    media: inboundMedia(kind, {
      providerMediaId: string(file.id, `${path}/${type}/id`),
      url: optString(file.url, `${path}/${type}/url`),
      mimeType: optString(file.mime_type, `${path}/${type}/mime_type`),
      filename: optString(file.filename, `${path}/${type}/filename`),
      caption: optString(file.caption, `${path}/${type}/caption`),
    }),
  };
}

function parseStatus(s: Json, path: string): InboundEvent {
  const wamid = string(s.id, `${path}/id`);
  const status = string(s.status, `${path}/status`);
  const at = unixSeconds(s.timestamp, `${path}/timestamp`);
  const providerEventId = `${wamid}:${status}`;
  if (!isChannelStatus(status)) return { kind: 'ignored', channel, providerEventId, reason: `unsupported-status:${status}` };
  return compact({
    kind: 'status' as const,
    channel,
    providerEventId,
    externalMessageId: wamid,
    status,
    at,
    externalUserId: optString(s.recipient_id, `${path}/recipient_id`),
    error: status === 'failed' ? failureOf(s, path) : undefined,
  });
}

/** The first entry of `errors`: its numeric code and the most specific text Meta gives. */
function failureOf(s: Json, path: string): { providerCode: string; detail: string } {
  const first = optArray(s.errors, `${path}/errors`)[0];
  if (first === undefined) return { providerCode: 'unknown', detail: 'The platform reported a failure without details' };
  const e = record(first, `${path}/errors/0`);
  const code = e.code;
  if (typeof code !== 'number' && typeof code !== 'string') throw invalidWebhook(`${path}/errors/0/code`, 'a number');
  const details = optString(optRecord(e.error_data, `${path}/errors/0/error_data`)?.details, `${path}/errors/0/error_data/details`);
  const detail = details ?? optString(e.message, `${path}/errors/0/message`) ?? optString(e.title, `${path}/errors/0/title`) ?? 'No details';
  return { providerCode: String(code), detail: sanitizeInboundText(detail) };
}
