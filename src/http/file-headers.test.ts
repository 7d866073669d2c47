import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentDisposition, parseRange, parseUploadChecksum } from './file-headers.ts';
import { parseUploadMetadata } from './tus-protocol.ts';

describe('parseRange', () => {
  it('reads first-last, open-ended and suffix ranges, clamped to the file', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=900-5000', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
  });

  it('answers unsatisfiable past the end, and ignores what it does not serve', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined();
    expect(parseRange('items=0-1', 1000)).toBeUndefined();
    expect(parseRange('bytes=5-1', 1000)).toBeUndefined();
    expect(parseRange(undefined, 1000)).toBeUndefined();
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback without separators or quotes and the exact name in filename*', () => {
    expect(contentDisposition('résumé "final"/v2.pdf')).toBe(
      `attachment; filename="r_sum_ _final__v2.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22_v2.pdf`,
    );
  });
});

describe('parseUploadChecksum', () => {
  it('turns "sha256 <base64>" into hex and refuses other algorithms and malformed digests', () => {
    const digest = createHash('sha256').update('x');
    expect(parseUploadChecksum(`sha256 ${digest.copy().digest('base64')}`)).toBe(digest.digest('hex'));
    expect(() => parseUploadChecksum('md5 AAAA')).toThrow(expect.objectContaining({ code: 'unsupported-checksum-algorithm' }));
    expect(() => parseUploadChecksum('sha256 AAAA')).toThrow(expect.objectContaining({ code: 'invalid-checksum' }));
    expect(parseUploadChecksum(undefined)).toBeUndefined();
  });
});

describe('parseUploadMetadata', () => {
  it('decodes base64 values, allows keys without value and refuses duplicates', () => {
    expect(parseUploadMetadata(`filename ${Buffer.from('a b.txt').toString('base64')},is_confidential`)).toEqual({ filename: 'a b.txt', is_confidential: '' });
    expect(() => parseUploadMetadata('a YQ==,a Yg==')).toThrow(expect.objectContaining({ code: 'invalid-upload-metadata' }));
    expect(() => parseUploadMetadata('a b c')).toThrow(expect.objectContaining({ code: 'invalid-upload-metadata' }));
  });
  it('refuses values that are not text: NUL, or bytes that are not UTF-8', () => {
    const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64');
    expect(parseUploadMetadata(`filename ${b64('\u{1F600}\u202e.txt')}`)).toEqual({ filename: '\u{1F600}\u202e.txt' });
    const refused = (header: string, key: string) =>
      expect(() => parseUploadMetadata(header)).toThrow(
        expect.objectContaining({ code: 'invalid-text', details: { errors: [expect.objectContaining({ path: `/headers/upload-metadata/${key}` })] } }),
      );
    refused(`filename ${b64('a\u0000b')}`, 'filename');
    refused(`filename ${b64('ok')},filetype ${b64(Buffer.from([0xff, 0x41]))}`, 'filetype');
    // A surrogate encoded in UTF-8 form (CESU-8) is not UTF-8.
    refused(`name ${b64(Buffer.from([0xed, 0xa0, 0x80]))}`, 'name');
  });
});
