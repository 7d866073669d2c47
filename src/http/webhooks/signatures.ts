/**
 * Webhook authenticity checks, one per platform scheme. They run on the raw request bytes and
 * headers before anything is parsed, and compare in constant time so that response timing does
 * not reveal how much of a guessed signature was right.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { forbidden, unauthenticated } from '../../domain/errors.ts';

const META_PREFIX = 'sha256=';
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * Meta (WhatsApp, Messenger, Instagram): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
 * body keyed with the app secret>`. False for a missing, malformed or wrong header, and when no
 * secret is configured (an empty key would make the signature forgeable).
 */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!appSecret || typeof header !== 'string' || !header.startsWith(META_PREFIX)) return false;
  const hex = header.slice(META_PREFIX.length);
  // Checked before decoding: Buffer.from(hex) silently drops a bad tail instead of failing.
  if (!SHA256_HEX.test(hex)) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/**
 * Telegram: `X-Telegram-Bot-Api-Secret-Token` carries the secret given to setWebhook verbatim.
 * Both sides are hashed first so the comparison has equal lengths and takes the same time
 * whatever the header's length.
 */
export function verifyTelegramSecret(header: string | undefined, secret: string): boolean {
  return isSameSecret(header, secret);
}

/** Constant-time equality of a received secret and the configured one; an unset secret never matches. */
function isSameSecret(given: unknown, expected: string): boolean {
  if (!expected || typeof given !== 'string') return false;
  const digest = (s: string) => createHmac('sha256', 'chat4all-secret-compare').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The query string of Meta's subscription handshake, as Fastify parses it (repeated keys → arrays). */
export type MetaChallengeQuery = Record<string, unknown>;

/**
 * Meta's GET handshake: `hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`. Returns C to echo
 * back when T equals the configured verify token, otherwise undefined (the route answers 403).
 */
export function verifyMetaChallenge(query: MetaChallengeQuery, verifyToken: string): string | undefined {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (mode !== 'subscribe' || typeof challenge !== 'string' || challenge === '') return undefined;
  return isSameSecret(token, verifyToken) ? challenge : undefined;
}

/** 401 for a webhook whose signature (or secret token) is missing or wrong. */
export const invalidSignature = () => unauthenticated('invalid-signature', 'The webhook signature is missing or does not match');

/** 403 for a subscription handshake with a wrong or missing verify token. */
export const verifyTokenMismatch = () => forbidden('invalid-verify-token', 'hub.verify_token does not match this channel');
