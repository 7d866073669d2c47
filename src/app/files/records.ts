/** Upload rows, their blob keys and the lookups every file use case starts with. */
import type { Row, Sql } from '../../ports/database.ts';
import { conflict, notFound } from '../../domain/errors.ts';
import type { UploadStatus } from '../../domain/upload.ts';

/** Bytes of a tus upload past its last whole chunk, kept as a scratch object. */
export interface TusSegment {
  key: string;
  bytes: number;
}

export interface Upload {
  id: string;
  /** null for media a contact sent on a channel (no user uploaded it). */
  uploaderId: number | null;
  protocol: 'chunks' | 'tus';
  filename: string;
  declaredType: string;
  mimeType: string | null;
  sizeBytes: number;
  chunkSize: number;
  totalChunks: number;
  conversationId: number | null;
  declaredSha256: string | null;
  sha256: string | null;
  status: UploadStatus;
  errorCode: string | null;
  errorDetail: string | null;
  storageHandle: string | null;
  tusOffset: number;
  tusMetadata: string | null;
  tusSegments: TusSegment[];
  createdAt: Date;
  expiresAt: Date;
  completedAt: Date | null;
}

/** Where a file's bytes live: derived from its id only, never from the filename. */
export const blobKey = (id: string) => `files/${id}`;
/** A tus segment's scratch object. */
export const segmentKey = (id: string, segmentId: string) => `tmp/tus/${id}/${segmentId}`;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const KEY_OWNER = new RegExp(`^(?:files|tmp/tus)/(${UUID})(?:/|$)`);

/** The upload a blob key belongs to, or undefined for keys we did not make. */
export function uploadIdOfKey(key: string): string | undefined {
  return KEY_OWNER.exec(key)?.[1];
}

const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));
const nullable = <T>(v: unknown, f: (x: unknown) => T): T | null => (v === null || v === undefined ? null : f(v));

export function toUpload(r: Row): Upload {
  return {
    id: String(r.id),
    uploaderId: nullable(r.uploader_id, Number),
    protocol: r.protocol as Upload['protocol'],
    filename: String(r.filename),
    declaredType: String(r.declared_type),
    mimeType: nullable(r.mime_type, String),
    sizeBytes: Number(r.size_bytes),
    chunkSize: Number(r.chunk_size),
    totalChunks: Number(r.total_chunks),
    conversationId: nullable(r.conversation_id, Number),
    declaredSha256: nullable(r.declared_sha256, String),
    sha256: nullable(r.sha256, String),
    status: r.status as UploadStatus,
    errorCode: nullable(r.error_code, String),
    errorDetail: nullable(r.error_detail, String),
    storageHandle: nullable(r.storage_handle, String),
    tusOffset: Number(r.tus_offset),
    tusMetadata: nullable(r.tus_metadata, String),
    tusSegments: (typeof r.tus_segments === 'string' ? JSON.parse(r.tus_segments) : (r.tus_segments ?? [])) as TusSegment[],
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    completedAt: nullable(r.completed_at, date),
  };
}

export async function findUpload(sql: Sql, id: string): Promise<Upload | undefined> {
  const rows = await sql.query('SELECT * FROM uploads WHERE id = $1', [id]);
  return rows[0] ? toUpload(rows[0]) : undefined;
}

/** The caller's own upload (of the given protocol, if any). Someone else's upload answers exactly like a missing one. */
export async function requireOwnUpload(sql: Sql, id: string, userId: number, protocol?: Upload['protocol']): Promise<Upload> {
  const up = await findUpload(sql, id);
  if (!up || up.uploaderId !== userId) throw notFound('upload-not-found', `Upload ${id} does not exist`);
  if (protocol && up.protocol !== protocol) {
    throw conflict(
      'upload-protocol-mismatch',
      protocol === 'tus' ? `Upload ${id} was started with the chunk API, not tus` : `Upload ${id} is a tus upload: continue it at /v1/tus/${id}`,
    );
  }
  return up;
}

/** Refuses more bytes for an upload that is finished, failed or expired. */
export function requireAcceptingBytes(up: Upload, now = new Date()): void {
  if (up.status === 'completed' || up.status === 'merging')
    throw conflict('upload-not-accepting-chunks', `Upload ${up.id} is ${up.status}: it takes no more bytes`);
  if (up.status === 'failed') throw conflict('upload-not-accepting-chunks', `Upload ${up.id} failed (${up.errorCode}): start a new upload`);
  requireUnexpired(up, now);
}

/** An unfinished upload past its expiry is gone for its client (the collector removes it later). */
export function requireUnexpired(up: Upload, now = new Date()): void {
  if (up.status !== 'completed' && up.expiresAt <= now)
    throw notFound('upload-expired', `Upload ${up.id} expired at ${up.expiresAt.toISOString()}; start a new upload`);
}
