import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { findInvalidText } from './invalid-text.ts';

describe('findInvalidText', () => {
  it('names the first string that is not text by its JSON pointer', () => {
    expect(findInvalidText({ payload: { type: 'text', content: 'a\u0000b' } })).toEqual({ path: '/payload/content', message: expect.stringMatching(/NUL/) });
    expect(findInvalidText({ ok: 'fine', list: ['x', 'y\ud800'] })).toEqual({ path: '/list/1', message: expect.stringMatching(/surrogate/) });
    expect(findInvalidText({ first: '\u0000', second: '\u0000' })?.path).toBe('/first');
    expect(findInvalidText('\udc00', '/headers/x')).toMatchObject({ path: '/headers/x' });
  });
  it('checks property names too, escaping them as JSON pointers do', () => {
    expect(findInvalidText({ 'a/b~\u0000': 1 })).toEqual({ path: '/a~1b~0\u0000', message: expect.stringMatching(/^has a name that contains a NUL/) });
  });
  it('passes valid text, numbers, booleans, null, streams and buffers', () => {
    expect(findInvalidText({ text: 'e\u0301 \u{1F600} \u202e', n: 1e300, b: true, z: null, list: [1, 'two'] })).toBeUndefined();
    expect(findInvalidText(Readable.from(['\u0000']))).toBeUndefined();
    expect(findInvalidText(Buffer.from([0, 0xff]))).toBeUndefined();
    expect(findInvalidText(undefined)).toBeUndefined();
  });
  it('walks a deeply nested body without overflowing the stack', () => {
    let deep: unknown = ['\u0000'];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findInvalidText(deep)?.path).toBe(`${'/0'.repeat(200_001)}`);
  });
});
