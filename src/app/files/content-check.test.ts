import { describe, expect, it } from 'vitest';
import { checkContentType } from './content-check.ts';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n');

describe('checkContentType', () => {
  it('accepts content that matches its declared type, including aliases', async () => {
    expect(await checkContentType('image/png', PNG)).toEqual({ mimeType: 'image/png' });
    expect(await checkContentType('application/x-pdf', PDF)).toEqual({ mimeType: 'application/x-pdf' });
  });

  it('takes the detected type when the declaration is generic', async () => {
    expect(await checkContentType('application/octet-stream', PNG)).toEqual({ mimeType: 'image/png' });
    expect(await checkContentType('application/octet-stream', Buffer.from('plain'))).toEqual({ mimeType: 'application/octet-stream' });
  });

  it('refuses a declaration the bytes contradict, or whose signature the bytes lack', async () => {
    expect(await checkContentType('application/pdf', PNG)).toEqual({ mismatch: expect.stringContaining('image/png') });
    expect(await checkContentType('text/plain', PNG)).toHaveProperty('mismatch');
    expect(await checkContentType('image/png', Buffer.from('hello'))).toHaveProperty('mismatch');
  });

  it('accepts text formats, which have no signature', async () => {
    expect(await checkContentType('text/csv', Buffer.from('a,b\n1,2\n'))).toEqual({ mimeType: 'text/csv' });
    expect(await checkContentType('image/svg+xml', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toEqual({ mimeType: 'image/svg+xml' });
  });
});
