/**
 * The upload garbage collector (`chat4all gc`, and periodically in embedded mode). Two passes:
 * 1. database: uploads not completed within the retention are marked failed (so no request can
 *    use them any more), their stored bytes are removed, then their rows — in batches;
 * 2. storage: unfinished multipart uploads and scratch objects older than the retention that no
 *    live upload owns (left by a crash between a storage call and its database write).
 */
import type { Database } from '../../ports/database.ts';
import type { BlobStore, StaleBlob } from '../../ports/blob-store.ts';
import { metrics } from '../../metrics.ts';
import type { Logger } from '../logger.ts';
import { blobKey, toUpload, uploadIdOfKey, type Upload } from './records.ts';

export interface CollectorSettings {
  retentionHours: number;
  batchSize: number;
}

export interface CollectionSummary {
  /** Upload rows removed with their bytes. */
  uploads_removed: number;
  /** Stale storage items removed that no upload row owned. */
  orphans_removed: number;
  /** Items that could not be removed (they are retried next run). */
  failures: number;
  duration_seconds: number;
}

/** A merge younger than this is left alone, even on an expired upload. */
const MERGE_LEASE = '15 minutes';

export class UploadCollector {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
  ) {}

  /** Runs both passes once; updates uploads_cleaned_total and cleanup_duration_seconds. Throws only when the database fails. */
  async collect(settings: CollectorSettings): Promise<CollectionSummary> {
    const started = performance.now();
    const cutoff = new Date(Date.now() - settings.retentionHours * 3_600_000);
    const failed = new Set<string>();
    let removed = 0;
    for (;;) {
      const batch = await this.expired(cutoff, settings.batchSize, [...failed]);
      for (const up of batch) {
        const outcome = await this.remove(up);
        if (outcome === 'removed') {
          removed++;
          metrics.uploadsCleaned.inc();
        } else if (outcome === 'failed') failed.add(up.id);
      }
      if (batch.length < settings.batchSize) break;
    }
    const orphans = await this.removeOrphans(cutoff);
    metrics.uploadsCleaned.inc(orphans.removed);
    const summary = {
      uploads_removed: removed,
      orphans_removed: orphans.removed,
      failures: failed.size + orphans.failures,
      duration_seconds: (performance.now() - started) / 1000,
    };
    metrics.cleanupDuration.observe(summary.duration_seconds);
    return summary;
  }

  private async expired(cutoff: Date, limit: number, skip: string[]): Promise<Upload[]> {
    const rows = await this.db.query(
      `SELECT * FROM uploads WHERE status <> 'completed' AND created_at < $1 AND NOT (id = ANY($3::uuid[]))
          AND NOT (status = 'merging' AND merge_started_at > now() - $4::interval)
        ORDER BY created_at LIMIT $2`,
      [cutoff, limit, skip, MERGE_LEASE],
    );
    return rows.map(toUpload);
  }

  /** Fences the upload off (failed, so chunks and completion are refused), removes its bytes, then its row. */
  private async remove(up: Upload): Promise<'removed' | 'skipped' | 'failed'> {
    try {
      const fenced = await this.db.query(
        `UPDATE uploads SET status = 'failed', error_code = COALESCE(error_code, 'upload-expired'), error_detail = COALESCE(error_detail, 'not completed in time')
          WHERE id = $1 AND status <> 'completed' AND NOT (status = 'merging' AND merge_started_at > now() - $2::interval) RETURNING id`,
        [up.id, MERGE_LEASE],
      );
      // Completed (or merging again) since the SELECT: not garbage.
      if (fenced.length === 0) return 'skipped';
      if (up.storageHandle) await this.blobs.abortUpload(blobKey(up.id), up.storageHandle);
      await this.blobs.delete(blobKey(up.id));
      for (const s of up.tusSegments) await this.blobs.delete(s.key);
      await this.db.query(`DELETE FROM uploads WHERE id = $1 AND status = 'failed'`, [up.id]);
      return 'removed';
    } catch (e) {
      this.logger.warn({ err: e, upload_id: up.id }, 'could not remove an expired upload; the next run retries');
      return 'failed';
    }
  }

  private async removeOrphans(cutoff: Date): Promise<{ removed: number; failures: number }> {
    let removed = 0;
    let failures = 0;
    for await (const stale of this.blobs.listStale(cutoff)) {
      const id = uploadIdOfKey(stale.key);
      if (!id || (await this.isLive(id))) continue;
      try {
        await this.discard(stale);
        removed++;
      } catch (e) {
        failures++;
        this.logger.warn({ err: e, key: stale.key }, 'could not remove a stale blob; the next run retries');
      }
    }
    return { removed, failures };
  }

  /** Never the finished object: only the unfinished upload or the scratch object itself. */
  private discard(stale: StaleBlob): Promise<void> {
    return stale.kind === 'upload' ? this.blobs.abortUpload(stale.key, stale.handle) : this.blobs.delete(stale.key);
  }

  /** An upload still in progress (its own storage is not garbage). */
  private async isLive(id: string): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 FROM uploads WHERE id = $1 AND status IN ('pending', 'uploading', 'merging')`, [id]);
    return rows.length > 0;
  }
}
