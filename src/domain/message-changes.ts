/** Rules for changing a message after it was sent: reactions, edits and deletion. Pure. */
import { isManager, type Role } from './group.ts';

/** Code points in a reaction: the longest RGI emoji (a kiss with two skin tones) has ten. */
export const MAX_EMOJI_CODE_POINTS = 10;
/** Distinct emoji one user may put on one message. */
export const MAX_REACTIONS_PER_USER = 20;

// What an emoji sequence is made of: pictographs, their components (ZWJ U+200D, VS16 U+FE0F,
// keycap U+20E3, skin tones, hair, regional indicators, tags, and the digits # * of keycaps) and VS15.
const EMOJI_PART = /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\uFE0E)$/u;
// At least one code point that is an emoji by itself: a pictograph, a flag half or a keycap.
const EMOJI_CORE = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u;

/**
 * Why `emoji` is not an acceptable reaction, or undefined when it is. Accepted: 1 to 10 code
 * points, each Extended_Pictographic, Emoji_Component or U+FE0E, with at least one pictograph,
 * regional indicator or keycap mark. This admits every RGI emoji (and ones newer than our
 * Unicode tables, since it reads properties, not a list) and refuses letters, digits alone,
 * punctuation, spaces and control characters.
 */
export function emojiFault(emoji: string): string | undefined {
  const points = [...emoji];
  if (points.length === 0 || points.length > MAX_EMOJI_CODE_POINTS) return `must have 1 to ${MAX_EMOJI_CODE_POINTS} code points`;
  if (!points.every((p) => EMOJI_PART.test(p))) return 'must consist of emoji code points only';
  if (!EMOJI_CORE.test(emoji)) return 'must contain an emoji';
  return undefined;
}

/**
 * The form of `emoji` in a platform's fixed reaction set, or undefined when the set lacks it.
 * Compared without variation selector 16 (U+FE0F): people send "❤️", Telegram lists "❤".
 */
export function allowedEmoji(allowed: readonly string[], emoji: string): string | undefined {
  const bare = (e: string) => e.replaceAll('\uFE0F', '');
  const wanted = bare(emoji);
  return allowed.find((a) => bare(a) === wanted);
}

/** What the actor may not do to the message, as a stable problem code; undefined when allowed. */
export type ChangeRefusal = 'not-message-sender' | 'edit-window-expired' | 'not-editable' | 'message-deleted';

export interface ChangeTarget {
  senderId: number | null;
  payloadType: string;
  createdAt: number;
  isDeleted: boolean;
}

/** The sender edits their own text messages within the window. */
export function editRefusal(m: ChangeTarget, actorId: number, now: number, windowMs: number): ChangeRefusal | undefined {
  if (m.isDeleted) return 'message-deleted';
  if (m.senderId !== actorId) return 'not-message-sender';
  if (m.payloadType !== 'text') return 'not-editable';
  if (now - m.createdAt > windowMs) return 'edit-window-expired';
  return undefined;
}

/**
 * The sender deletes their own message for everyone within the window; a group's owner and admins
 * delete anyone's message at any time (moderation).
 */
export function deleteRefusal(
  m: ChangeTarget,
  actor: { userId: number; role: Role; isGroup: boolean },
  now: number,
  windowMs: number,
): ChangeRefusal | undefined {
  if (actor.isGroup && isManager(actor.role)) return undefined;
  if (m.senderId !== actor.userId) return 'not-message-sender';
  if (now - m.createdAt > windowMs) return 'edit-window-expired';
  return undefined;
}
