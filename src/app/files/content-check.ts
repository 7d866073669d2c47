/** Checks a declared media type against the file's magic bytes (file-type). */
import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import { GENERIC_MIME } from '../../domain/upload.ts';

/** Bytes from the start of a file that the check reads (file-type needs at most a few KiB for most formats). */
export const SNIFF_BYTES = 64 * 1024;

export type ContentVerdict = { mimeType: string } | { mismatch: string };

// Names in use for the same type.
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/x-png': 'image/png',
  'image/x-ms-bmp': 'image/bmp',
  'audio/mp3': 'audio/mpeg',
  'audio/x-mp3': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'application/x-zip-compressed': 'application/zip',
  'application/x-pdf': 'application/pdf',
  'text/xml': 'application/xml',
  'application/gzip': 'application/gzip',
  'application/x-gzip': 'application/gzip',
  'video/x-matroska': 'video/matroska',
};
const canonical = (mime: string) => ALIASES[mime] ?? mime;

// Detected containers that many declared formats legitimately are.
const CONTAINERS: Record<string, RegExp> = {
  'application/zip': /zip|openxmlformats|opendocument|java-archive|android|epub|vnd\.ms-|xpinstall|vnd\.apple|sketch/,
  'application/x-cfb': /msword|vnd\.ms-|x-msi|outlook|vnd\.visio/,
  'application/xml': /xml/,
};
// ISO base media files: the brand decides what file-type calls them.
const ISO_BMFF = new Set(['video/mp4', 'video/quicktime', 'audio/mp4', 'audio/x-m4a', 'video/x-m4v', 'video/3gpp', 'video/3gpp2', 'audio/aac']);

function isCompatible(declared: string, detected: string): boolean {
  const d = canonical(declared);
  const c = canonical(detected);
  if (d === c) return true;
  if (CONTAINERS[c]?.test(d)) return true;
  return ISO_BMFF.has(d) && ISO_BMFF.has(c);
}

/** Text formats have no signature: their absence proves nothing. */
const isSignatureless = (mime: string) => mime.startsWith('text/') || /[+/](xml|json)$/.test(mime) || !supportedMimeTypes.has(mime);

/**
 * The type to serve for a file whose first bytes are `head`. A generic declaration takes the
 * detected type. A declaration contradicts the content when the bytes are recognisably another
 * format, or when the declared format has a signature that the bytes lack.
 */
export async function checkContentType(declared: string, head: Buffer): Promise<ContentVerdict> {
  const detected = await fileTypeFromBuffer(head);
  if (declared === GENERIC_MIME) return { mimeType: detected?.mime ?? GENERIC_MIME };
  if (detected) {
    return isCompatible(declared, detected.mime) ? { mimeType: declared } : { mismatch: `declared ${declared}, but the content is ${detected.mime}` };
  }
  return isSignatureless(canonical(declared))
    ? { mimeType: declared }
    : { mismatch: `declared ${declared}, but the content does not start with its signature` };
}
