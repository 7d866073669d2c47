/**
 * Turning a fully received upload into a file: assemble the parts in storage, read the result once
 * to compute its SHA-256 and sniff its type, then mark it completed or failed. Shared by the chunk
 * API's `complete` and tus's last PATCH. Exactly one caller finalizes an upload: the one whose
 * UPDATE moved it to `merging` (claimMerge); the others wait for the outcome.
 */
import { pipeline } from 'node:stream/promises';
import type { Database } from '../../ports/database.ts';
import type { BlobStore, StoredPart } from '../../ports/blob-store.ts';
import { isDomainError, unavailable } from '../../domain/errors.ts';
import type { Logger } from '../logger.ts';
import { checkContentType, SNIFF_BYTES } from './content-check.ts';
import { blobKey, findUpload, toUpload, type Upload } from './records.ts';
import { Digest, discard } from './streams.ts';
import { recordWebhookEvents } from '../webhooks/record.ts';

/** A merge that has run this long is taken to have died with its process and may be taken over. */
const MERGE_LEASE = '15 minutes';

export class Finalizer {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
    private readonly waitMs = 60_000,
  ) {}

  /** Moves the upload to `merging` if nobody else is finalizing it; returns the claimed row or undefined. */
  async claimMerge(id: string, declaredSha256?: string): Promise<Upload | undefined> {
    const rows = await this.db.query(
      `UPDATE uploads SET status = 'merging', merge_started_at = now(), declared_sha256 = COALESCE($2, declared_sha256)
        WHERE id = $1 AND (status IN ('pending', 'uploading') OR (status = 'merging' AND merge_started_at < now() - $3::interval))
        RETURNING *`,
      [id, declaredSha256 ?? null, MERGE_LEASE],
    );
    return rows[0] ? toUpload(rows[0]) : undefined;
  }

  /** Polls until another caller's merge has ended (or the wait is over); returns the row as it then is. */
  async awaitMerge(id: string): Promise<Upload | undefined> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const up = await findUpload(this.db, id);
      if (!up || up.status !== 'merging' || Date.now() > deadline) return up;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Finalizes an upload claimed with claimMerge; returns it completed or failed. Storage trouble gives the claim back. */
  async finalize(up: Upload): Promise<Upload> {
    const key = blobKey(up.id);
    let digest: Digest;
    try {
      if (up.storageHandle) await this.blobs.completeUpload(key, up.storageHandle, await this.storedParts(up.id));
      digest = new Digest(SNIFF_BYTES);
      await pipeline(await this.blobs.read(key), digest, discard());
    } catch (e) {
      await this.db.query(`UPDATE uploads SET status = 'uploading', merge_started_at = NULL WHERE id = $1 AND status = 'merging'`, [up.id]);
      if (isDomainError(e)) throw e;
      this.logger.warn({ err: e, upload_id: up.id }, 'assembling an upload failed; it can be completed again');
      throw unavailable('storage-unavailable', 'The file storage did not answer; retry the request', {}, e);
    }
    const sha256 = digest.hex();
    if (digest.bytes !== up.sizeBytes) return this.fail(up, 'size-mismatch', `assembled ${digest.bytes} bytes, declared ${up.sizeBytes}`);
    if (up.declaredSha256 && up.declaredSha256 !== sha256)
      return this.fail(up, 'checksum-mismatch', `SHA-256 of the file is ${sha256}, declared ${up.declaredSha256}`);
    const verdict = await checkContentType(up.declaredType, digest.head());
    if ('mismatch' in verdict) return this.fail(up, 'content-type-mismatch', verdict.mismatch);
    const rows = await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM upload_chunks WHERE upload_id = $1', [up.id]);
      const done = await tx.query(
        `UPDATE uploads SET status = 'completed', sha256 = $2, mime_type = $3, completed_at = now(), storage_handle = NULL, merge_started_at = NULL, tus_segments = '[]'
          WHERE id = $1 AND status = 'merging' RETURNING *`,
        [up.id, sha256, verdict.mimeType],
      );
      // Files fetched from a platform have no uploader: nobody to tell.
      if (done[0] && up.uploaderId !== null) await recordWebhookEvents(tx, [completedEvent(toUpload(done[0]))]);
      return done;
    });
    return rows[0] ? toUpload(rows[0]) : ((await findUpload(this.db, up.id)) ?? up);
  }

  /** Marks the upload failed and drops its bytes: a failed upload is never served. */
  private async fail(up: Upload, code: string, detail: string): Promise<Upload> {
    const rows = await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM upload_chunks WHERE upload_id = $1', [up.id]);
      return tx.query(
        `UPDATE uploads SET status = 'failed', error_code = $2, error_detail = $3, storage_handle = NULL, merge_started_at = NULL
          WHERE id = $1 AND status = 'merging' RETURNING *`,
        [up.id, code, detail],
      );
    });
    // The garbage collector deletes it too, should this fail.
    await this.blobs.delete(blobKey(up.id)).catch((e: unknown) => this.logger.warn({ err: e, upload_id: up.id }, 'could not delete a failed upload'));
    return rows[0] ? toUpload(rows[0]) : ((await findUpload(this.db, up.id)) ?? up);
  }

  private async storedParts(id: string): Promise<StoredPart[]> {
    const rows = await this.db.query(
      'SELECT chunk_number, part_token, size_bytes FROM upload_chunks WHERE upload_id = $1 AND part_token IS NOT NULL ORDER BY chunk_number',
      [id],
    );
    return rows.map((r) => ({ partNumber: Number(r.chunk_number), token: String(r.part_token), size: Number(r.size_bytes) }));
  }
}

/** `upload.completed` for the uploader's endpoints (a file belongs to no conversation until it is sent). */
function completedEvent(up: Upload) {
  return {
    type: 'upload.completed' as const,
    userId: up.uploaderId ?? undefined,
    data: {
      file_id: up.id,
      filename: up.filename,
      mime_type: up.mimeType,
      size_bytes: up.sizeBytes,
      sha256: up.sha256,
      completed_at: up.completedAt?.toISOString() ?? null,
    },
  };
}
