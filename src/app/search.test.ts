import { describe, expect, it } from 'vitest';
import { highlightHtml } from './search.ts';

describe('highlightHtml', () => {
  it('escapes every character of the text and marks the matches', () => {
    expect(highlightHtml('a <b>&"\' \u0001run\u0002 x')).toBe('a &lt;b&gt;&amp;&quot;&#39; <mark>run</mark> x');
  });
  it('closes an unbalanced mark and ignores a stray stop', () => {
    expect(highlightHtml('\u0002a \u0001b')).toBe('a <mark>b</mark>');
  });
});
