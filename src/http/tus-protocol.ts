/** tus 1.0 wire details: versions, extensions, Upload-Metadata (https://tus.io/protocols/resumable-upload). */
import { invalid } from '../domain/errors.ts';
import { textFault } from '../domain/text.ts';
import { decodeUtf8, invalidText } from './invalid-text.ts';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,termination,expiration,checksum';
export const TUS_CHECKSUM_ALGORITHMS = 'sha256';
export const TUS_CONTENT_TYPE = 'application/offset+octet-stream';

/**
 * `key base64,key2 base64,key3`: keys are unique and without spaces or commas, values base64.
 * Returns the decoded pairs; 400 invalid-upload-metadata otherwise, and 400 invalid-text for a value
 * that is not UTF-8 text (refused, not replaced, like any text we are sent).
 */
export function parseUploadMetadata(header: string | undefined): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (header === undefined || header.trim() === '') return pairs;
  for (const item of header.split(',')) {
    const m = /^\s*([^\s,]+)(?:\s+([A-Za-z0-9+/]*={0,2}))?\s*$/.exec(item);
    if (!m || Object.hasOwn(pairs, m[1]))
      throw invalid('invalid-upload-metadata', 'Upload-Metadata must be comma-separated "key base64value" pairs with unique keys');
    pairs[m[1]] = decodeText(m[1], Buffer.from(m[2] ?? '', 'base64'));
  }
  return pairs;
}

function decodeText(key: string, bytes: Buffer): string {
  const path = `/headers/upload-metadata/${key}`;
  const text = decodeUtf8(bytes);
  if (text === undefined) throw invalidText('header', { path, message: 'is not UTF-8 text' });
  const fault = textFault(text);
  if (fault) throw invalidText('header', { path, message: fault });
  return text;
}

/** A non-negative integer header (Upload-Length, Upload-Offset); undefined when absent, 400 when malformed. */
export function integerHeader(name: string, value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  if (!/^\d{1,16}$/.test(text)) throw invalid(`invalid-${name.toLowerCase()}`, `${name} must be a non-negative integer`);
  return Number(text);
}
