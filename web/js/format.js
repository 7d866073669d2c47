/** Formatting for display: times, sizes, names, avatar colours. */

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const longDateFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });

const DAY = 86_400_000;
const startOfDay = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();

/** "14:05" */
export const clockTime = (iso) => timeFormat.format(new Date(iso));

/** Conversation list stamp: time today, weekday this week, else a date. */
export function listStamp(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const days = Math.round((startOfDay(new Date()) - startOfDay(d)) / DAY);
  if (days <= 0) return timeFormat.format(d);
  if (days === 1) return 'Yesterday';
  if (days < 7) return weekdayFormat.format(d);
  return dateFormat.format(d);
}

/** A moment near now: "14:05" today, else "Tue 14:05" (a reply window ends within a day). */
export function dayTime(ms) {
  const d = new Date(ms);
  return startOfDay(d) === startOfDay(new Date()) ? timeFormat.format(d) : `${weekdayFormat.format(d)} ${timeFormat.format(d)}`;
}

/** Day separator label in a chat: Today, Yesterday, or a long date. */
export function dayLabel(iso) {
  const d = new Date(iso);
  const days = Math.round((startOfDay(new Date()) - startOfDay(d)) / DAY);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return longDateFormat.format(d);
}

/** Local calendar day key, for grouping messages by day. */
export const dayKey = (iso) => {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
};

/** "1.4 MB" */
export function bytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** Up to two initials for an avatar. */
export function initials(name) {
  const parts = String(name || '?')
    .replace(/[_.-]+/g, ' ')
    .trim()
    .split(/\s+/);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : parts[0].slice(0, 2);
  return letters.toUpperCase();
}

/** A stable, pleasant hue per name so a person keeps their colour everywhere. */
export function hue(name) {
  // FNV-1a plus a final mix: "User 4" and "User 5" should not get neighbouring colours.
  let hash = 2166136261;
  for (const ch of String(name)) hash = Math.imul(hash ^ ch.codePointAt(0), 16777619);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) % 360;
}
