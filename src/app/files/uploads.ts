/** The chunk API: initiate, receive chunks (any order, in parallel, retried freely), status, complete. */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Database } from '../../ports/database.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import { conflict, invalid, isDomainError, tooLarge, unavailable, unprocessable } from '../../domain/errors.ts';
import {
  DEFAULT_CHUNK_BYTES,
  MAX_CHUNK_BYTES,
  MAX_CHUNKS,
  MIN_CHUNK_BYTES,
  displayFilename,
  expectedChunkBytes,
  missingChunks,
  normaliseMime,
  percentage,
  totalChunks,
} from '../../domain/upload.ts';
import { requireMember } from '../membership.ts';
import type { Logger } from '../logger.ts';
import { iso } from '../time.ts';
import { blobKey, requireAcceptingBytes, requireOwnUpload, toUpload, type Upload } from './records.ts';
import { Digest, through } from './streams.ts';
import type { Finalizer } from './finalize.ts';
import { CLAIM_LEASE_SECONDS, isClaimVoidSql, keepClaim } from './claims.ts';

export interface InitiateRequest {
  filename: string;
  file_size: number;
  mime_type?: string;
  conversation_id?: number;
  checksum_sha256?: string;
  chunk_size?: number;
}

export interface UploadSettings {
  maxUploadBytes: number;
  retentionHours: number;
}

export class Uploads {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly finalizer: Finalizer,
    private readonly settings: UploadSettings,
    private readonly logger: Logger,
    /** This process (src/app/instances.ts): the owner of the chunk claims it takes. */
    private readonly owner: string,
  ) {}

  /** Starts an upload (chunk API or tus): validates the declaration, records it, opens a multipart upload in storage. */
  async initiate(userId: number, req: InitiateRequest, protocol: Upload['protocol'] = 'chunks', tusMetadata?: string) {
    const chunkSize = req.chunk_size ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_BYTES || chunkSize > MAX_CHUNK_BYTES) {
      throw invalid('invalid-chunk-size', `chunk_size must be between ${MIN_CHUNK_BYTES} and ${MAX_CHUNK_BYTES} bytes`);
    }
    if (req.file_size > this.settings.maxUploadBytes) {
      throw tooLarge('file-too-large', `Files may have at most ${this.settings.maxUploadBytes} bytes`, { max_upload_bytes: this.settings.maxUploadBytes });
    }
    const chunks = totalChunks(req.file_size, chunkSize);
    if (chunks > MAX_CHUNKS) throw invalid('too-many-chunks', `${chunks} chunks: choose a chunk_size that gives at most ${MAX_CHUNKS}`);
    const mime = normaliseMime(req.mime_type);
    if (!mime) throw invalid('invalid-mime-type', 'mime_type must be a media type such as image/png');
    if (req.conversation_id !== undefined) await requireMember(this.db, req.conversation_id, userId);

    const id = randomUUID();
    // The row comes first: storage without a row would be invisible to the garbage collector's
    // database pass (its stale-blob pass would still find it, a day later).
    const rows = await this.db.query(
      `INSERT INTO uploads (id, uploader_id, protocol, filename, declared_type, size_bytes, chunk_size, total_chunks, conversation_id, declared_sha256, tus_metadata, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + $12 * interval '1 hour') RETURNING *`,
      [
        id,
        userId,
        protocol,
        displayFilename(req.filename),
        mime,
        req.file_size,
        chunkSize,
        chunks,
        req.conversation_id ?? null,
        req.checksum_sha256?.toLowerCase() ?? null,
        tusMetadata ?? null,
        this.settings.retentionHours,
      ],
    );
    const handle = await this.storage(() => this.blobs.createUpload(blobKey(id), chunkSize));
    await this.db.query('UPDATE uploads SET storage_handle = $2 WHERE id = $1', [id, handle]);
    const up = { ...toUpload(rows[0]), storageHandle: handle };
    return {
      upload: up,
      view: { upload_id: id, status: up.status, filename: up.filename, total_chunks: chunks, chunk_size: chunkSize, expires_at: iso(up.expiresAt) },
    };
  }

  /**
   * Streams one chunk to storage. The chunk is claimed first, so that a duplicate (or a racing
   * copy) is refused before a byte is written, and recorded only once its bytes are stored and
   * match the checksums given (hex SHA-256). A refused chunk leaves no record.
   */
  async receiveChunk(userId: number, uploadId: string, chunkNumber: number, body: Readable, input: { contentLength?: number; checksums: string[] }) {
    const up = await requireOwnUpload(this.db, uploadId, userId, 'chunks');
    requireAcceptingBytes(up);
    if (!Number.isInteger(chunkNumber) || chunkNumber < 1 || chunkNumber > up.totalChunks) {
      throw invalid('chunk-out-of-range', `chunk_number must be between 1 and ${up.totalChunks}`, { total_chunks: up.totalChunks });
    }
    const expected = expectedChunkBytes(up.sizeBytes, up.chunkSize, chunkNumber);
    if (input.contentLength === undefined) throw invalid('content-length-required', 'Send the chunk with a Content-Length header');
    if (input.contentLength !== expected) {
      throw invalid('chunk-size-mismatch', `Chunk ${chunkNumber} must have exactly ${expected} bytes (got ${input.contentLength})`, {
        expected_bytes: expected,
      });
    }
    const claim = await this.claimChunk(up, chunkNumber, expected);
    let isTakenOver = false;
    const digest = through(body, new Digest());
    const stopRenewing = keepClaim(
      () => digest.bytes,
      async () =>
        (
          await this.db.query('UPDATE upload_chunks SET claimed_at = now() WHERE upload_id = $1 AND chunk_number = $2 AND claim_id = $3 RETURNING 1', [
            up.id,
            chunkNumber,
            claim,
          ])
        ).length > 0,
      () => ((isTakenOver = true), body.destroy(new Error('chunk claim taken over'))),
    );
    try {
      const token = await this.storage(
        () => this.blobs.putPart(blobKey(up.id), up.storageHandle ?? '', chunkNumber, digest, expected),
        () => body.readableAborted || (body.destroyed && !body.readableEnded),
      )
        .catch((e: unknown) => {
          throw isTakenOver ? conflict('chunk-in-progress', `Chunk ${chunkNumber} stalled and was taken over by another request`, {}, e) : e;
        })
        .finally(stopRenewing);
      const sha256 = digest.hex();
      if (input.checksums.some((c) => c.toLowerCase() !== sha256)) {
        throw invalid('checksum-mismatch', `SHA-256 of chunk ${chunkNumber} is ${sha256}, which does not match the checksum sent`);
      }
      const recorded = await this.db.query(
        'UPDATE upload_chunks SET part_token = $3, sha256 = $4 WHERE upload_id = $1 AND chunk_number = $2 AND claim_id = $5 AND part_token IS NULL RETURNING 1',
        [up.id, chunkNumber, token, sha256, claim],
      );
      if (recorded.length === 0) throw conflict('chunk-already-uploaded', `Chunk ${chunkNumber} was stored by another request`);
      await this.db.query(`UPDATE uploads SET status = 'uploading' WHERE id = $1 AND status = 'pending'`, [up.id]);
    } catch (e) {
      await this.db.query('DELETE FROM upload_chunks WHERE upload_id = $1 AND chunk_number = $2 AND claim_id = $3 AND part_token IS NULL', [
        up.id,
        chunkNumber,
        claim,
      ]);
      throw e;
    }
    const [count] = await this.db.query('SELECT count(*) AS n FROM upload_chunks WHERE upload_id = $1 AND part_token IS NOT NULL', [up.id]);
    const uploaded = Number(count.n);
    return {
      upload_id: up.id,
      chunk_number: chunkNumber,
      uploaded_chunks: uploaded,
      total_chunks: up.totalChunks,
      percentage: percentage(uploaded, up.totalChunks),
    };
  }

  /** Progress of the caller's upload: what is stored, what is missing, and the outcome once there is one. */
  async status(userId: number, uploadId: string) {
    const up = await requireOwnUpload(this.db, uploadId, userId);
    const stored =
      up.status === 'completed'
        ? []
        : (await this.db.query('SELECT chunk_number FROM upload_chunks WHERE upload_id = $1 AND part_token IS NOT NULL', [up.id])).map((r) =>
            Number(r.chunk_number),
          );
    const uploaded = up.status === 'completed' ? up.totalChunks : stored.length;
    const isDone = up.status === 'completed';
    return {
      upload_id: up.id,
      status: up.status,
      filename: up.filename,
      file_size: up.sizeBytes,
      chunk_size: up.chunkSize,
      uploaded_chunks: uploaded,
      total_chunks: up.totalChunks,
      percentage: percentage(uploaded, up.totalChunks),
      missing_chunks: isDone ? [] : missingChunks(up.totalChunks, stored),
      file_id: isDone ? up.id : null,
      download_url: isDone ? `/v1/files/${up.id}/download` : null,
      error: up.errorCode ? { code: up.errorCode, detail: up.errorDetail ?? '' } : null,
      created_at: iso(up.createdAt),
      expires_at: iso(up.expiresAt),
      completed_at: up.completedAt ? iso(up.completedAt) : null,
    };
  }

  /**
   * Completes the upload: every chunk must be stored; the file is assembled, hashed and type-checked
   * before the answer. Repeating it (even concurrently) gives the same answer.
   */
  async complete(userId: number, uploadId: string, checksumSha256?: string) {
    const up = await requireOwnUpload(this.db, uploadId, userId, 'chunks');
    if (up.status === 'pending' || up.status === 'uploading') {
      requireAcceptingBytes(up);
      const stored = await this.db.query('SELECT chunk_number FROM upload_chunks WHERE upload_id = $1 AND part_token IS NOT NULL', [up.id]);
      const missing = missingChunks(
        up.totalChunks,
        stored.map((r) => Number(r.chunk_number)),
      );
      if (missing.length > 0) throw invalid('upload-incomplete', `${missing.length} of ${up.totalChunks} chunks are missing`, { missing_chunks: missing });
    }
    const claimed = up.status === 'completed' || up.status === 'failed' ? undefined : await this.finalizer.claimMerge(up.id, checksumSha256?.toLowerCase());
    const outcome = claimed ? await this.finalizer.finalize(claimed) : await this.finalizer.awaitMerge(up.id);
    return completionAnswer(outcome ?? up);
  }

  /** Claims a chunk for this request; 409 when it is stored or another live request is storing it (src/app/files/claims.ts). */
  private async claimChunk(up: Upload, chunkNumber: number, size: number): Promise<string> {
    const claim = randomUUID();
    return this.db.transaction(async (tx) => {
      // FOR SHARE: a complete() that moves the upload to `merging` waits for this claim to commit.
      const [row] = await tx.query(`SELECT status FROM uploads WHERE id = $1 AND expires_at > now() FOR SHARE`, [up.id]);
      if (!row || (row.status !== 'pending' && row.status !== 'uploading'))
        throw conflict('upload-not-accepting-chunks', `Upload ${up.id} takes no more chunks`);
      const claimed = await tx.query(
        `INSERT INTO upload_chunks (upload_id, chunk_number, size_bytes, claim_id, claim_owner) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (upload_id, chunk_number) DO UPDATE SET claim_id = EXCLUDED.claim_id, claim_owner = EXCLUDED.claim_owner, claimed_at = now()
           WHERE upload_chunks.part_token IS NULL AND ${isClaimVoidSql('upload_chunks.claimed_at', 'upload_chunks.claim_owner')}
         RETURNING part_token`,
        [up.id, chunkNumber, size, claim, this.owner],
      );
      if (claimed.length === 0) {
        const [existing] = await tx.query('SELECT part_token FROM upload_chunks WHERE upload_id = $1 AND chunk_number = $2', [up.id, chunkNumber]);
        if (existing?.part_token) throw conflict('chunk-already-uploaded', `Chunk ${chunkNumber} is already stored`);
        throw conflict(
          'chunk-in-progress',
          `Chunk ${chunkNumber} is being stored by another request; retry if that one fails (a crashed request's claim is void at once, a stalled one's after ${CLAIM_LEASE_SECONDS} s)`,
        );
      }
      return claim;
    });
  }

  /** Storage calls: a client that went away is a client error; anything else means storage trouble (503). */
  private async storage<T>(work: () => Promise<T>, isClientGone: () => boolean = () => false): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (isDomainError(e)) throw e;
      if (isClientGone()) throw invalid('incomplete-body', 'The request body ended before its Content-Length', {}, e);
      this.logger.warn({ err: e }, 'file storage call failed');
      throw unavailable('storage-unavailable', 'The file storage did not answer; retry the request', {}, e);
    }
  }
}

/** The answer to complete, the same however often it is asked. */
export function completionAnswer(up: Upload) {
  if (up.status === 'failed' && up.errorCode === 'checksum-mismatch') {
    throw unprocessable('checksum-mismatch', up.errorDetail ?? 'The SHA-256 of the file does not match the declared one', {
      upload_id: up.id,
      upload_status: 'failed',
    });
  }
  return {
    upload_id: up.id,
    status: up.status,
    file_id: up.status === 'completed' ? up.id : null,
    ...(up.errorCode ? { error: { code: up.errorCode, detail: up.errorDetail ?? '' } } : {}),
  };
}
