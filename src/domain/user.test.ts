import { describe, expect, it } from 'vitest';
import { hasBidiControl, usernameKey } from './user.ts';

describe('usernames and display names', () => {
  it('compares usernames without case', () => {
    expect(usernameKey('USER1')).toBe(usernameKey('user1'));
    expect(usernameKey('Ab.C-d_9')).toBe('ab.c-d_9');
  });

  it('finds every bidi control character and nothing else', () => {
    for (const c of ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c']) {
      expect(hasBidiControl(`admin${c}`), `U+${c.codePointAt(0)!.toString(16)}`).toBe(true);
    }
    for (const ok of ['Alice', 'Zoë Ünal', 'محمد', 'שלום', '李雷', '😀 ok', 'a\u200db']) expect(hasBidiControl(ok), ok).toBe(false);
  });
});
