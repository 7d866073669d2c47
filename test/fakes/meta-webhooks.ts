/**
 * Meta towards our server: signed webhook POSTs, the subscription handshake, and payload builders
 * in the documented shapes.
 * Signatures: https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
 * WhatsApp: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
 * Messenger: https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
 * Instagram: https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 */
import { createHmac } from 'node:crypto';

/** `sha256=<hex HMAC-SHA256(raw body, app secret)>`, the `X-Hub-Signature-256` value. */
export function metaSignature(rawBody: string | Buffer, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

export interface PostWebhookOptions {
  /** Overrides the computed signature; `null` sends none. */
  signature?: string | null;
  /** Sends these bytes instead of JSON.stringify(payload) (e.g. to prove the raw body is what is signed). */
  rawBody?: string;
}

/** POSTs a webhook the way Meta does: the JSON body signed with the app secret. */
export function postMetaWebhook(url: string, payload: object, appSecret: string, options: PostWebhookOptions = {}): Promise<Response> {
  const body = options.rawBody ?? JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const signature = options.signature === undefined ? metaSignature(body, appSecret) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return fetch(url, { method: 'POST', headers, body });
}

/** The subscription handshake Meta performs when a callback URL is saved. */
export function verifyMetaSubscription(url: string, verifyToken: string, challenge: string): Promise<Response> {
  const query = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': verifyToken, 'hub.challenge': challenge });
  return fetch(`${url}?${query}`);
}

const seconds = (ms = Date.now()) => String(Math.floor(ms / 1000));

// ---- WhatsApp ----

export interface WhatsAppBusiness {
  phoneNumberId: string;
  displayPhoneNumber?: string;
  wabaId?: string;
}

function whatsappEnvelope(business: WhatsAppBusiness, value: object): object {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: business.wabaId ?? '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: business.displayPhoneNumber ?? '15550783881', phone_number_id: business.phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

export interface WhatsAppStatusInput {
  wamid: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  recipientId: string;
  timestampMs?: number;
  /** For `failed`: the error, e.g. `{code: 131026, title: 'Message undeliverable'}`. */
  error?: { code: number; title: string; details?: string };
}

/** A `statuses` notification for one outbound message. */
export function whatsappStatusWebhook(business: WhatsAppBusiness, s: WhatsAppStatusInput): object {
  const status: Record<string, unknown> = { id: s.wamid, status: s.status, timestamp: seconds(s.timestampMs), recipient_id: s.recipientId };
  if (s.status !== 'failed') {
    status.conversation = { id: 'CONVERSATION_ID', origin: { type: 'service' } };
    status.pricing = { billable: true, pricing_model: 'PMP', category: 'service' };
  }
  if (s.error)
    status.errors = [{ code: s.error.code, title: s.error.title, message: s.error.title, error_data: { details: s.error.details ?? s.error.title } }];
  return whatsappEnvelope(business, { statuses: [status] });
}

export type WhatsAppInboundContent =
  | { type: 'text'; body: string }
  /** The person's reaction to `messageId`; an empty emoji takes it back. */
  | { type: 'reaction'; messageId: string; emoji: string }
  | { type: 'image'; mediaId: string; mimeType: string; caption?: string }
  | { type: 'document'; mediaId: string; mimeType: string; filename: string; caption?: string };

/** A `messages` notification: one inbound message from `from` (with the contact's profile name). */
export function whatsappMessageWebhook(
  business: WhatsAppBusiness,
  m: { wamid: string; from: string; name: string; timestampMs?: number; content: WhatsAppInboundContent },
): object {
  const c = m.content;
  const content =
    c.type === 'text'
      ? { text: { body: c.body } }
      : c.type === 'reaction'
        ? { reaction: { message_id: c.messageId, ...(c.emoji ? { emoji: c.emoji } : {}) } }
        : c.type === 'image'
          ? { image: { id: c.mediaId, mime_type: c.mimeType, sha256: 'SHA256', ...(c.caption ? { caption: c.caption } : {}) } }
          : { document: { id: c.mediaId, mime_type: c.mimeType, sha256: 'SHA256', filename: c.filename, ...(c.caption ? { caption: c.caption } : {}) } };
  return whatsappEnvelope(business, {
    contacts: [{ profile: { name: m.name }, wa_id: m.from }],
    messages: [{ from: m.from, id: m.wamid, timestamp: seconds(m.timestampMs), type: c.type, ...content }],
  });
}

// ---- Messenger and Instagram (entry[].messaging[]) ----

function messagingEnvelope(object: 'page' | 'instagram', accountId: string, event: object): object {
  const time = Date.now();
  return { object, entry: [{ id: accountId, time, messaging: [{ timestamp: time, ...event }] }] };
}

export interface InboundAttachment {
  type: 'image' | 'video' | 'audio' | 'file';
  url: string;
}

function inboundMessage(mid: string, text?: string, attachments?: InboundAttachment[]): object {
  return {
    mid,
    ...(text !== undefined ? { text } : {}),
    ...(attachments ? { attachments: attachments.map((a) => ({ type: a.type, payload: { url: a.url } })) } : {}),
  };
}

/** Messenger `message_deliveries`: every message in `mids` (and all before `watermark`) was delivered. */
export function messengerDeliveryWebhook(pageId: string, psid: string, mids: string[], watermarkMs = Date.now()): object {
  return messagingEnvelope('page', pageId, { sender: { id: psid }, recipient: { id: pageId }, delivery: { mids, watermark: watermarkMs } });
}

/** Messenger `message_reads`: everything the page sent up to `watermark` was read. */
export function messengerReadWebhook(pageId: string, psid: string, watermarkMs = Date.now()): object {
  return messagingEnvelope('page', pageId, { sender: { id: psid }, recipient: { id: pageId }, read: { watermark: watermarkMs } });
}

/** Messenger `messages`: text and/or attachments from a person. */
export function messengerMessageWebhook(pageId: string, psid: string, m: { mid: string; text?: string; attachments?: InboundAttachment[] }): object {
  return messagingEnvelope('page', pageId, { sender: { id: psid }, recipient: { id: pageId }, message: inboundMessage(m.mid, m.text, m.attachments) });
}

/** Instagram `messaging_seen`: the message `mid` was read. Instagram sends no delivery events. */
export function instagramReadWebhook(accountId: string, igsid: string, mid: string): object {
  return messagingEnvelope('instagram', accountId, { sender: { id: igsid }, recipient: { id: accountId }, read: { mid } });
}

/** Instagram `messages`: text and/or attachments from a person. */
export function instagramMessageWebhook(accountId: string, igsid: string, m: { mid: string; text?: string; attachments?: InboundAttachment[] }): object {
  return messagingEnvelope('instagram', accountId, {
    sender: { id: igsid },
    recipient: { id: accountId },
    message: inboundMessage(m.mid, m.text, m.attachments),
  });
}

/** Messenger `message_reactions`: the person reacted to (`react`) or took back (`unreact`) a reaction on `mid`. */
export function messengerReactionWebhook(pageId: string, psid: string, r: { mid: string; action: 'react' | 'unreact'; emoji?: string }): object {
  const reaction = { mid: r.mid, action: r.action, ...(r.emoji ? { emoji: r.emoji, reaction: 'other' } : {}) };
  return messagingEnvelope('page', pageId, { sender: { id: psid }, recipient: { id: pageId }, reaction });
}

/** Messenger `message_edits`: the person's new text of their message `mid` (`num_edit` counts edits). */
export function messengerEditWebhook(pageId: string, psid: string, e: { mid: string; text: string; numEdit: number }): object {
  return messagingEnvelope('page', pageId, {
    sender: { id: psid },
    recipient: { id: pageId },
    message_edit: { mid: e.mid, text: e.text, num_edit: e.numEdit },
  });
}
