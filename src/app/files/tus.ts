/**
 * tus 1.0 over the same uploads: a tus upload is an upload row (protocol "tus") with fixed-size
 * chunks. tus appends bytes at an offset in pieces of any size, so each PATCH body is cut into our
 * chunks while it streams: whole chunks go to storage as parts, and the bytes past the last whole
 * chunk are kept as small scratch objects ("segments", < one chunk in total) that the next PATCH
 * puts in front of its own bytes. Nothing is buffered in memory and every PATCH writes its bytes
 * once (plus one read-back of the segments).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Database } from '../../ports/database.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import { conflict, invalid, isDomainError, tooLarge, unavailable, unprocessable } from '../../domain/errors.ts';
import { DEFAULT_CHUNK_BYTES } from '../../domain/upload.ts';
import type { Logger } from '../logger.ts';
import type { Finalizer } from './finalize.ts';
import { blobKey, findUpload, requireAcceptingBytes, requireOwnUpload, segmentKey, type TusSegment, type Upload } from './records.ts';
import { ByteCounter, ByteSlicer, concatenate, Digest, through } from './streams.ts';
import { isClaimVoidSql, keepClaim } from './claims.ts';

/** SQL: the upload's tus lock belongs to a crashed process or a stalled PATCH (src/app/files/claims.ts). */
const isLockVoid = isClaimVoidSql('tus_locked_at', 'tus_lock_owner');
import type { InitiateRequest, Uploads } from './uploads.ts';

export interface TusAppend {
  offset: number;
  contentLength?: number;
  /** Hex SHA-256 of the body (Upload-Checksum): the whole body is stored or none of it. */
  checksum?: string;
}

export class TusUploads {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly uploads: Uploads,
    private readonly finalizer: Finalizer,
    private readonly logger: Logger,
    /** This process (src/app/instances.ts): the owner of the locks it takes. */
    private readonly owner: string,
  ) {}

  /** Creates a tus upload (its chunks are DEFAULT_CHUNK_BYTES, which S3 takes as multipart parts). */
  async create(userId: number, req: Omit<InitiateRequest, 'chunk_size'>, rawMetadata?: string): Promise<Upload> {
    if (req.file_size === 0) throw invalid('empty-file', 'Upload-Length must be at least 1');
    const { upload } = await this.uploads.initiate(userId, { ...req, chunk_size: DEFAULT_CHUNK_BYTES }, 'tus', rawMetadata);
    return upload;
  }

  /** The caller's tus upload as HEAD reports it. */
  async find(userId: number, id: string): Promise<Upload> {
    return requireOwnUpload(this.db, id, userId, 'tus');
  }

  /**
   * Appends a PATCH body at `offset`. Without a checksum, each chunk is committed as soon as it is
   * stored, so an interrupted PATCH keeps its whole chunks. With one, all is committed at the end
   * or nothing. Returns the upload after the append (completed or failed once the last byte came).
   */
  async append(userId: number, id: string, body: Readable, input: TusAppend): Promise<Upload> {
    const up = await this.find(userId, id);
    requireAcceptingBytes(up);
    if (input.offset !== up.tusOffset)
      throw conflict('upload-offset-mismatch', `The upload is at offset ${up.tusOffset}, not ${input.offset}`, { upload_offset: up.tusOffset });
    if (input.contentLength === undefined) throw invalid('content-length-required', 'Send the PATCH with a Content-Length header');
    if (input.offset + input.contentLength > up.sizeBytes)
      throw tooLarge('upload-length-exceeded', `The body would take the upload past its Upload-Length of ${up.sizeBytes}`);
    const lock = await this.lock(up);
    let after: Upload;
    let isTakenOver = false;
    const counter = through(body, new ByteCounter());
    const stopRenewing = keepClaim(
      () => counter.bytes,
      async () => (await this.db.query('UPDATE uploads SET tus_locked_at = now() WHERE id = $1 AND tus_lock = $2 RETURNING 1', [up.id, lock])).length > 0,
      () => ((isTakenOver = true), body.destroy(new Error('tus lock taken over'))),
    );
    try {
      after = await this.write(up, counter, input.contentLength, input.checksum).catch((e: unknown) => {
        throw isTakenOver ? conflict('upload-locked', 'This PATCH stalled and another took the upload over; HEAD it and continue from its offset', {}, e) : e;
      });
    } finally {
      stopRenewing();
      await this.db.query('UPDATE uploads SET tus_lock = NULL, tus_lock_owner = NULL, tus_locked_at = NULL WHERE id = $1 AND tus_lock = $2', [up.id, lock]);
    }
    if (after.tusOffset < after.sizeBytes) return after;
    const claimed = await this.finalizer.claimMerge(up.id);
    const done = claimed ? await this.finalizer.finalize(claimed) : ((await this.finalizer.awaitMerge(up.id)) ?? after);
    if (done.status === 'failed') throw unprocessable(done.errorCode ?? 'upload-failed', done.errorDetail ?? 'The upload failed its final checks');
    return done;
  }

  /** tus termination: an unfinished upload and everything it stored are removed. */
  async terminate(userId: number, id: string): Promise<void> {
    const up = await this.find(userId, id);
    if (up.status === 'completed') throw invalid('upload-completed', 'A completed upload is a file and cannot be terminated');
    const rows = await this.db.query(`DELETE FROM uploads WHERE id = $1 AND status <> 'completed' AND (tus_lock IS NULL OR ${isLockVoid}) RETURNING id`, [id]);
    if (rows.length === 0) throw conflict('upload-locked', 'A PATCH is in progress on this upload');
    await this.discard(up.storageHandle, up.id, up.tusSegments);
  }

  private async lock(up: Upload): Promise<string> {
    const lock = randomUUID();
    const rows = await this.db.query(
      `UPDATE uploads SET tus_lock = $3, tus_lock_owner = $4, tus_locked_at = now(), status = CASE WHEN status = 'pending' THEN 'uploading' ELSE status END
        WHERE id = $1 AND tus_offset = $2 AND status IN ('pending', 'uploading') AND (tus_lock IS NULL OR ${isLockVoid}) RETURNING id`,
      [up.id, up.tusOffset, lock, this.owner],
    );
    if (rows.length === 0) throw conflict('upload-locked', 'Another PATCH is writing to this upload (or the offset moved); retry after a HEAD');
    return lock;
  }

  private async write(up: Upload, body: Readable, length: number, checksum?: string): Promise<Upload> {
    const digest = checksum ? through(body, new Digest()) : undefined;
    const slicer = new ByteSlicer(digest ?? body);
    const key = blobKey(up.id);
    let pos = up.tusOffset;
    let segments = up.tusSegments;
    const end = pos + length;
    const pending: { chunk: number; token: string; size: number }[] = [];
    const created: TusSegment[] = [];
    const consumed: TusSegment[] = [];
    try {
      while (pos < end) {
        const chunk = Math.floor(pos / up.chunkSize) + 1;
        const chunkStart = (chunk - 1) * up.chunkSize;
        const chunkEnd = Math.min(chunk * up.chunkSize, up.sizeBytes);
        if (end >= chunkEnd) {
          // This PATCH finishes the chunk: earlier segments, then its own bytes.
          const parts = [...segments.map((s) => () => this.blobs.read(s.key)), () => slicer.take(chunkEnd - pos)];
          const token = await this.storage(body, () => this.blobs.putPart(key, up.storageHandle ?? '', chunk, concatenate(parts), chunkEnd - chunkStart));
          pending.push({ chunk, token, size: chunkEnd - chunkStart });
          consumed.push(...segments);
          segments = [];
          pos = chunkEnd;
          if (!checksum) await this.commit(up.id, pending.splice(0), pos, segments, consumed.splice(0));
        } else {
          const segment = { key: segmentKey(up.id, randomUUID()), bytes: end - pos };
          await this.storage(body, () => this.blobs.put(segment.key, slicer.take(segment.bytes), segment.bytes));
          created.push(segment);
          segments = [...segments, segment];
          pos = end;
          if (!checksum) await this.commit(up.id, [], pos, segments, []);
        }
      }
      if (checksum && digest && digest.hex() !== checksum.toLowerCase()) throw invalid('checksum-mismatch', 'The body does not match its Upload-Checksum');
      if (checksum) await this.commit(up.id, pending, pos, segments, consumed);
    } catch (e) {
      // Segments written by this PATCH but not committed belong to nobody.
      const committed = new Set((await findUpload(this.db, up.id))?.tusSegments.map((s) => s.key) ?? []);
      for (const s of created) if (!committed.has(s.key)) await this.blobs.delete(s.key).catch(() => undefined);
      throw e;
    }
    return (await findUpload(this.db, up.id)) ?? up;
  }

  private async commit(
    id: string,
    chunks: { chunk: number; token: string; size: number }[],
    offset: number,
    segments: TusSegment[],
    consumed: TusSegment[],
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const c of chunks) {
        await tx.query(
          `INSERT INTO upload_chunks (upload_id, chunk_number, size_bytes, part_token, claim_id) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (upload_id, chunk_number) DO UPDATE SET part_token = EXCLUDED.part_token, size_bytes = EXCLUDED.size_bytes`,
          [id, c.chunk, c.size, c.token, randomUUID()],
        );
      }
      await tx.query('UPDATE uploads SET tus_offset = $2, tus_segments = $3 WHERE id = $1', [id, offset, JSON.stringify(segments)]);
    });
    // Consumed segments are now inside a stored chunk; the collector removes any that outlive this.
    for (const s of consumed) await this.blobs.delete(s.key).catch((e: unknown) => this.logger.debug({ err: e, key: s.key }, 'segment not deleted'));
  }

  /** Removes what an unfinished upload stored. */
  private async discard(handle: string | null, id: string, segments: TusSegment[]): Promise<void> {
    if (handle) await this.blobs.abortUpload(blobKey(id), handle);
    await this.blobs.delete(blobKey(id));
    for (const s of segments) await this.blobs.delete(s.key);
  }

  /** A client that went away is a client error (debug); anything else is storage trouble (503, warn). */
  private async storage<T>(body: Readable, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (isDomainError(e)) throw e;
      if (body.readableAborted || (body.destroyed && !body.readableEnded)) {
        this.logger.debug({ err: e }, 'tus PATCH body interrupted');
        throw invalid('incomplete-body', 'The body ended before its Content-Length; HEAD the upload and continue from its offset', {}, e);
      }
      this.logger.warn({ err: e }, 'file storage call failed');
      throw unavailable('storage-unavailable', 'The file storage did not answer; HEAD the upload and continue from its offset', {}, e);
    }
  }
}
