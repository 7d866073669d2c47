/**
 * Channel conversations (a person on WhatsApp, Telegram, Messenger or Instagram): the platform's
 * name and badge, the contact's name, who wrote a message, and WhatsApp's reply window.
 */
import { h } from './dom.js';

const NAMES = { whatsapp: 'WhatsApp', telegram: 'Telegram', messenger: 'Messenger', instagram: 'Instagram' };

/** "WhatsApp" for "whatsapp"; unknown channels keep their id. */
export const channelName = (channel) => NAMES[channel] ?? String(channel ?? '');

/** A small coloured label naming the platform (colours come from app.css, by channel). */
export function channelBadge(channel) {
  return h('span', { class: 'channel-badge', dataset: { channel } }, channelName(channel));
}

/** The contact's name, else their platform id (Telegram chat id, phone number, PSID…). */
export const contactName = (contact) => contact?.display_name || contact?.external_id || '';

/**
 * Who wrote `m`: the contact (sender_id is null then), or a user by `names` (user id → name),
 * else the username the message carries.
 */
export function senderName(m, names, contact) {
  if (m.sender_contact) return m.sender_contact.display_name || contactName(contact) || 'Contact';
  return names.get(m.sender_id) ?? m.sender_username ?? 'Unknown';
}

/** user id → the name to show, for a conversation's members. */
export const memberNames = (c) => new Map((c?.members ?? []).map((m) => [m.user_id, m.display_name || m.username]));

/** "Telegram · 424242 · with User 2": the platform, the contact's id there, the other agents (`others`: members but me). */
export function channelSubtitle(c, others) {
  const parts = [c.contact ? channelName(c.contact.channel) : 'External contact', c.contact?.external_id];
  if (others.length) parts.push(`with ${others.map((m) => m.display_name || m.username).join(', ')}`);
  return parts.filter(Boolean).join(' · ');
}

/** Groups consecutive messages by author, users and contacts alike. */
export const senderKey = (m) => (m.sender_contact ? `contact:${m.sender_contact.contact_id}` : `user:${m.sender_id}`);

// WhatsApp accepts free-form replies for 24 h after the person's last message (the contract's
// rule; the server enforces it with 422 channel-window-closed, this only shows it).
const WINDOW_MS = 24 * 3_600_000;

/**
 * WhatsApp's customer-service window for `contact`: `{isOpen, until}` (until: ms since epoch, or
 * null when the person never wrote); undefined for other channels, which have no such window.
 */
export function replyWindow(contact, now = Date.now()) {
  if (contact?.channel !== 'whatsapp') return undefined;
  const last = Date.parse(contact.last_inbound_at ?? '');
  if (!Number.isFinite(last)) return { isOpen: false, until: null };
  return { isOpen: now < last + WINDOW_MS, until: last + WINDOW_MS };
}
