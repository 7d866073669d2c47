/** Web Push rules: which browser subscriptions are accepted, and what a notification may carry. */
import { isIP } from 'node:net';
import { invalid } from './errors.ts';
import { previewOf, type Payload } from './message.ts';
import { firstCodePoints } from './text.ts';

/** A browser's PushSubscription as `subscription.toJSON()` gives it (keys in base64url). */
export interface PushSubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** The characters of a notification's text preview: enough to recognise a message, not its content. */
export const PUSH_PREVIEW_LENGTH = 80;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Refuses a subscription we could not, or should not, send to (400 invalid-push-subscription, with
 * `errors: [{path, message}]`): the endpoint must be https:// on a host name (push services never
 * use bare IP addresses, and refusing them keeps the server from posting into private networks);
 * http:// on loopback only when `isLoopbackHttpAllowed` (tests). p256dh is an uncompressed P-256
 * point (65 bytes, 0x04 first) and auth 16 bytes (RFC 8291 §3), both base64url without padding.
 */
export function checkSubscription(input: PushSubscriptionInput, rules: { isLoopbackHttpAllowed: boolean }): void {
  const errors: { path: string; message: string }[] = [];
  const endpointProblem = problemOfEndpoint(input.endpoint, rules.isLoopbackHttpAllowed);
  if (endpointProblem) errors.push({ path: '/endpoint', message: endpointProblem });
  if (!isBase64UrlOfLength(input.keys.p256dh, 65) || Buffer.from(input.keys.p256dh, 'base64url')[0] !== 0x04)
    errors.push({ path: '/keys/p256dh', message: 'must be an uncompressed P-256 public key: 65 bytes in base64url without padding' });
  if (!isBase64UrlOfLength(input.keys.auth, 16)) errors.push({ path: '/keys/auth', message: 'must be 16 bytes in base64url without padding' });
  if (errors.length > 0)
    throw invalid('invalid-push-subscription', `The push subscription is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors });
}

function problemOfEndpoint(endpoint: string, isLoopbackHttpAllowed: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  const isLoopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === 'http:' && isLoopback && isLoopbackHttpAllowed) return undefined;
  if (url.protocol !== 'https:') return 'must be an https:// URL';
  if (isLoopback || isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) return "must name the push service's host, not an address";
  return undefined;
}

function isBase64UrlOfLength(value: string, bytes: number): boolean {
  return BASE64URL.test(value) && value.length === Math.ceil((bytes * 4) / 3) && Buffer.from(value, 'base64url').length === bytes;
}

/** What one notification carries: enough for the service worker to show it and open the conversation. */
export interface PushNotice {
  type: 'message';
  conversation_id: number;
  message_id: string;
  seq: number;
  sender_name: string;
  /** The group's name; null for a private or channel conversation (the sender's name says who). */
  conversation_name: string | null;
  /** The first PUSH_PREVIEW_LENGTH characters of a text, or "[File] name": never the whole message. */
  preview: string;
}

export function noticeOf(m: {
  conversationId: number;
  messageId: string;
  seq: number;
  senderName: string;
  conversationName: string | null;
  payload: Payload;
}): PushNotice {
  return {
    type: 'message',
    conversation_id: m.conversationId,
    message_id: m.messageId,
    seq: m.seq,
    sender_name: firstCodePoints(m.senderName, 64),
    conversation_name: m.conversationName === null ? null : firstCodePoints(m.conversationName, 64),
    preview: firstCodePoints(previewOf(m.payload), PUSH_PREVIEW_LENGTH),
  };
}

/**
 * The push service's Topic header (RFC 8030 §5.4): a newer notice of a conversation replaces one
 * still waiting on the push service, so a phone that comes back online gets one per conversation.
 */
export const pushTopicOf = (conversationId: number): string => `c${conversationId}`;
