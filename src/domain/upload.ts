/** Resumable uploads: sizes, chunk arithmetic and the display text rules for filenames and types. */
export const MiB = 1024 * 1024;
export const MIN_CHUNK_BYTES = MiB;
export const MAX_CHUNK_BYTES = 64 * MiB;
export const DEFAULT_CHUNK_BYTES = 8 * MiB;
/** S3 allows 10,000 parts per multipart upload; a chunk may become one part. */
export const MAX_CHUNKS = 10_000;
export const MAX_FILENAME_CHARS = 255;

export const UPLOAD_STATUSES = ['pending', 'uploading', 'merging', 'completed', 'failed'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export function totalChunks(sizeBytes: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(sizeBytes / chunkSize));
}

/** Bytes chunk `n` (1-based) must have: `chunkSize` for all but the last, the remainder for the last. */
export function expectedChunkBytes(sizeBytes: number, chunkSize: number, n: number): number {
  const total = totalChunks(sizeBytes, chunkSize);
  return n < total ? chunkSize : sizeBytes - (total - 1) * chunkSize;
}

/** Chunk numbers 1..total that are not in `stored`, ascending. */
export function missingChunks(total: number, stored: Iterable<number>): number[] {
  const have = new Set(stored);
  const missing: number[] = [];
  for (let n = 1; n <= total; n++) if (!have.has(n)) missing.push(n);
  return missing;
}

export function percentage(done: number, total: number): number {
  return total === 0 ? 100 : Math.round((done / total) * 10_000) / 100;
}

// C0/C1 controls (NUL included), line/paragraph separators and the bidirectional overrides that
// make "gpj.exe" display as "exe.jpg".
const UNSAFE_CHARS = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * A filename as display text: controls and bidi overrides removed, at most 255 characters (whole
 * code points). Separators and `..` stay, because this text never becomes a storage path.
 */
export function displayFilename(raw: string): string {
  const cleaned = raw.normalize('NFC').replace(UNSAFE_CHARS, '').trim();
  const capped = Array.from(cleaned).slice(0, MAX_FILENAME_CHARS).join('').trim();
  return capped || 'file';
}

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;
export const GENERIC_MIME = 'application/octet-stream';

/** `Image/PNG; charset=x` → `image/png`; undefined when it is not a media type. */
export function normaliseMime(raw: string | undefined): string | undefined {
  if (raw === undefined) return GENERIC_MIME;
  const base = raw.split(';')[0].trim().toLowerCase();
  return MIME.test(base) && base.length <= 255 ? base : undefined;
}
