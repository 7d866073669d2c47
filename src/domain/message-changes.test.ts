import { describe, expect, it } from 'vitest';
import { allowedEmoji, deleteRefusal, editRefusal, emojiFault } from './message-changes.ts';

describe('emojiFault', () => {
  it('accepts single emoji and RGI sequences up to ten code points', () => {
    for (const e of ['👍', '❤️', '☺', '🇧🇷', '#️⃣', '1️⃣', '👋🏽', '👨‍👩‍👧‍👦', '🏴󠁧󠁢󠁥󠁮󠁧󠁿', '👩🏻‍❤️‍💋‍👨🏼', '🫠']) expect(emojiFault(e), e).toBeUndefined();
  });
  it('refuses empty, long, textual and mixed strings', () => {
    expect(emojiFault('')).toMatch(/1 to 10/);
    expect(emojiFault('👍'.repeat(11))).toMatch(/1 to 10/);
    for (const bad of ['a', 'ok', '👍a', ' 👍', '👍\n', '<', '&amp;', '\u0000', '\u200b'])
      expect(emojiFault(bad), JSON.stringify(bad)).toMatch(/emoji code points/);
    // Components alone are not an emoji.
    for (const bad of ['1', '#', '\u200d', '\ufe0f', '🏽', '\u{E0067}']) expect(emojiFault(bad), JSON.stringify(bad)).toBeDefined();
  });
});

describe('edit and delete rules', () => {
  const hour = 3_600_000;
  const now = 100 * hour;
  const text = { senderId: 1, payloadType: 'text', createdAt: now - hour, isDeleted: false };
  it('lets the sender edit text within the window only', () => {
    expect(editRefusal(text, 1, now, 48 * hour)).toBeUndefined();
    expect(editRefusal(text, 2, now, 48 * hour)).toBe('not-message-sender');
    expect(editRefusal({ ...text, createdAt: now - 49 * hour }, 1, now, 48 * hour)).toBe('edit-window-expired');
    expect(editRefusal({ ...text, payloadType: 'file' }, 1, now, 48 * hour)).toBe('not-editable');
    expect(editRefusal({ ...text, isDeleted: true }, 1, now, 48 * hour)).toBe('message-deleted');
    expect(editRefusal({ ...text, senderId: null }, 1, now, 48 * hour)).toBe('not-message-sender');
  });
  it('lets group owners and admins delete anything, others only their own within the window', () => {
    const old = { ...text, createdAt: now - 100 * hour };
    expect(deleteRefusal(old, { userId: 2, role: 'admin', isGroup: true }, now, 48 * hour)).toBeUndefined();
    expect(deleteRefusal(old, { userId: 2, role: 'owner', isGroup: true }, now, 48 * hour)).toBeUndefined();
    expect(deleteRefusal(text, { userId: 2, role: 'member', isGroup: true }, now, 48 * hour)).toBe('not-message-sender');
    expect(deleteRefusal(text, { userId: 2, role: 'owner', isGroup: false }, now, 48 * hour)).toBe('not-message-sender');
    expect(deleteRefusal(old, { userId: 1, role: 'member', isGroup: true }, now, 48 * hour)).toBe('edit-window-expired');
    expect(deleteRefusal(text, { userId: 1, role: 'member', isGroup: false }, now, 48 * hour)).toBeUndefined();
  });
});

describe('allowedEmoji', () => {
  const set = ['👍', '❤', '❤\u200D🔥'];
  it("answers the platform's form of an emoji, ignoring variation selector 16", () => {
    expect(allowedEmoji(set, '👍')).toBe('👍');
    expect(allowedEmoji(set, '❤️')).toBe('❤');
    expect(allowedEmoji(set, '❤️\u200D🔥')).toBe('❤\u200D🔥');
  });
  it('answers undefined for an emoji outside the set, including a different skin tone', () => {
    expect(allowedEmoji(set, '🦆')).toBeUndefined();
    expect(allowedEmoji(set, '👍🏽')).toBeUndefined();
  });
});
