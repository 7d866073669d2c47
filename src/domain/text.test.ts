import { describe, expect, it } from 'vitest';
import { codePointLength, firstCodePoints, textFault } from './text.ts';

describe('text rule', () => {
  it('accepts any Unicode text without NUL, bidi controls and other controls included', () => {
    for (const text of ['', 'plain', 'e\u0301', '\u{1F600}\u{1F468}\u200d\u{1F469}', 'a\u202eb\u2066c', 'tab\tbell\u0007', '\uffff'])
      expect(textFault(text), text).toBeUndefined();
  });
  it('refuses NUL and lone surrogates wherever they are', () => {
    expect(textFault('a\u0000')).toMatch(/NUL/);
    for (const text of ['\ud800', 'a\ud800b', 'end\ud83d', '\udc00start', 'x\ude00', '\ude00\ud83d', '\u{1F600}\ud800'])
      expect(textFault(text), JSON.stringify(text)).toMatch(/surrogate/);
  });
});

describe('code points', () => {
  it('counts a surrogate pair as one character', () => {
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('abc')).toBe(3);
    expect(codePointLength('\u{1F600}'.repeat(4096))).toBe(4096);
    expect(codePointLength('a\u{1F600}b')).toBe(3);
    // Combining marks and joiners are code points of their own.
    expect(codePointLength('e\u0301')).toBe(2);
  });
  it('cuts text between code points', () => {
    expect(firstCodePoints('\u{1F600}'.repeat(150), 100)).toBe('\u{1F600}'.repeat(100));
    expect(firstCodePoints('ab\u{1F600}cd', 3)).toBe('ab\u{1F600}');
    expect(firstCodePoints('short', 100)).toBe('short');
    expect(firstCodePoints('abcdef', 0)).toBe('');
  });
});
