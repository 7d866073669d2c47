import type { Readable } from 'node:stream';

/** A stored part as completeUpload needs it: its number, the token putPart returned and its size. */
export interface StoredPart {
  partNumber: number;
  token: string;
  size: number;
}

/** Something the garbage collector may remove: an unfinished upload, or a scratch object (key under `tmp/`). */
export type StaleBlob = { kind: 'upload'; key: string; handle: string } | { kind: 'object'; key: string };

export interface PresignOptions {
  expiresSeconds: number;
  /** Sent back as Content-Disposition / Content-Type by the store. */
  contentDisposition: string;
  contentType: string;
}

/** Keys are `/`-separated paths built by the application from ids (never from user text). */
export class BlobNotFound extends Error {
  constructor(readonly key: string) {
    super(`blob ${key} does not exist`);
  }
}

/**
 * Object storage for files, shaped like S3 multipart uploads: a file is built from numbered parts
 * that may arrive in any order and in parallel, then assembled. Nothing here holds a whole part
 * in memory: bodies are streams of a known length.
 *
 * Eleven members, past the style guide's ~8, on purpose: the multipart calls and the object calls
 * share one namespace of keys, one garbage collection (`listStale` sees both) and one connection;
 * split in two, each adapter would be two classes over the same client, and every caller would
 * need both. The two halves are grouped below: multipart assembly, then objects, then lifecycle.
 */
export interface BlobStore {
  /** "fs" or "s3", for logs and readiness. */
  readonly kind: string;
  /** Starts a multipart object at `key` whose parts are `partSize` bytes (the last may be shorter); returns the handle the other upload calls need. */
  createUpload(key: string, partSize: number): Promise<string>;
  /** Stores part `partNumber` (1-based) from a stream of exactly `size` bytes, replacing an earlier part of that number; returns its token. Rejects when the stream fails or has another length. */
  putPart(key: string, handle: string, partNumber: number, body: Readable, size: number): Promise<string>;
  /** Assembles `parts` (ascending, contiguous) into the object `key`; once done, calling it again is a no-op. */
  completeUpload(key: string, handle: string, parts: readonly StoredPart[]): Promise<void>;
  /** Discards an unfinished upload and its parts; succeeds when there is nothing left to discard. */
  abortUpload(key: string, handle: string): Promise<void>;
  /** Writes the whole object `key` from a stream of exactly `size` bytes (replacing it). */
  put(key: string, body: Readable, size: number): Promise<void>;
  /** Streams the bytes `start..end` (inclusive) of `key`, or all of it; rejects with BlobNotFound when absent. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** A short-lived GET URL, or undefined when this store serves bytes only through read(). */
  presignGet(key: string, options: PresignOptions): Promise<string | undefined>;
  /** Deletes the object `key`; succeeds when it does not exist. */
  delete(key: string): Promise<void>;
  /** Unfinished uploads and scratch objects last touched before `before`, for the garbage collector. */
  listStale(before: Date): AsyncIterable<StaleBlob>;
  /** Throws when the store does not answer (readiness probe). */
  ping(): Promise<void>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}
