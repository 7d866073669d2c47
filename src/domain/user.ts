/** Rules for account names: what makes two usernames the same, and what a display name may contain. */

/** Letters, digits, dot, dash, underscore: ASCII only, so lower-casing is the same everywhere. */
export const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;

/** The form usernames are compared in: `USER1` and `user1` are one account (as in Mattermost and Synapse). */
export const usernameKey = (username: string): string => username.toLowerCase();

// Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the marks U+200E,
// U+200F, U+061C: they make "admin\u202e" or "\u202egnp.exe" display as something else.
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Whether the text contains a bidirectional control character (refused in display names). */
export const hasBidiControl = (text: string): boolean => BIDI_CONTROLS.test(text);
