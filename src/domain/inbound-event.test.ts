import { describe, expect, it } from 'vitest';
import { isChannelStatus, sanitizeInboundText } from './inbound-event.ts';

describe('sanitizeInboundText', () => {
  it('removes NUL and keeps the rest of the message', () => {
    expect(sanitizeInboundText('a\u0000b\u0000')).toBe('ab');
  });
  it('replaces each unpaired surrogate with U+FFFD', () => {
    expect(sanitizeInboundText('x\uD800y')).toBe('x\uFFFDy');
    expect(sanitizeInboundText('\uDC00x')).toBe('\uFFFDx');
    expect(sanitizeInboundText('end\uD83D')).toBe('end\uFFFD');
    expect(sanitizeInboundText('\uDE00\uD83D')).toBe('\uFFFD\uFFFD');
  });
  it('leaves valid text, emoji and other control characters alone', () => {
    const text = 'Olá 👍🏽 — 你好\tline\nnext \u0007';
    expect(sanitizeInboundText(text)).toBe(text);
  });
  it('yields text that encodes to UTF-8 and back unchanged', () => {
    const out = sanitizeInboundText('a\uD800\u0000b\uDFFF');
    expect(Buffer.from(out, 'utf8').toString('utf8')).toBe(out);
  });
});

describe('isChannelStatus', () => {
  it('knows the four platform statuses and nothing else', () => {
    expect(['sent', 'delivered', 'read', 'failed'].every(isChannelStatus)).toBe(true);
    expect(['accepted', 'deleted', 'warning', ''].some(isChannelStatus)).toBe(false);
  });
});
