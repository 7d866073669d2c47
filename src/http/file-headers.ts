/** Header parsing and formatting for file transfers: Range, Content-Disposition, Upload-Checksum, Content-Length. */
import { invalid } from '../domain/errors.ts';

export type ByteRange = { start: number; end: number };

/**
 * A single `bytes=` range against a file of `size` bytes (RFC 9110 §14): undefined means "send the
 * whole file" (no header, a multi-range, or another unit), 'unsatisfiable' means 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

/** `attachment` with an ASCII fallback and the exact name as RFC 5987 `filename*` (RFC 6266). */
export function contentDisposition(filename: string): string {
  // Separators would be stripped or misread by browsers: the saved file gets a plain name.
  const name = filename.replace(/[/\\]/g, '_');
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["%;]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** `Upload-Checksum: sha256 <base64>` (tus checksum extension) as hex; undefined when absent. */
export function parseUploadChecksum(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})\s*$/.exec(value);
  if (!m) throw invalid('invalid-checksum', 'Upload-Checksum must be "<algorithm> <base64 digest>"');
  if (m[1].toLowerCase() !== 'sha256') throw invalid('unsupported-checksum-algorithm', `Checksum algorithm ${m[1]} is not supported; use sha256`);
  const digest = Buffer.from(m[2], 'base64');
  if (digest.length !== 32) throw invalid('invalid-checksum', 'A sha256 Upload-Checksum has 32 bytes (44 base64 characters)');
  return digest.toString('hex');
}

/** The Content-Length of a request with a body, or undefined when it is sent without one (chunked). */
export function contentLengthOf(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}
