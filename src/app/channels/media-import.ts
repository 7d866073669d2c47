/**
 * A person's media as a file of ours: downloaded through the channel's connector (size-limited),
 * written through the BlobStore at the usual key, checked by its magic bytes like an upload, and
 * recorded as a completed upload with no uploader (its origin is the channel). The inbox shares it
 * with the channel conversation in the transaction that stores the message.
 *
 * The file id derives from the provider event, so a batch processed again finds the file it
 * already stored instead of downloading it twice. Platform trouble (too large, refused, down past
 * a few attempts) yields undefined, and the message keeps a text note; our own storage or
 * database failing throws, and the batch is retried.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../ports/database.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import { ConnectorError, MediaTooLarge, type Connector, type FetchedMedia } from '../../ports/connector.ts';
import type { InboundMedia, InboundMessage } from '../../domain/inbound-event.ts';
import type { ExternalChannel, FilePayload } from '../../domain/message.ts';
import { displayFilename, GENERIC_MIME, normaliseMime } from '../../domain/upload.ts';
import { checkContentType, SNIFF_BYTES } from '../files/content-check.ts';
import { blobKey } from '../files/records.ts';
import { Digest, through } from '../files/streams.ts';
import type { Logger } from '../logger.ts';
import type { MediaImporter } from './inbound-content.ts';

export interface MediaImportSettings {
  /** CHANNEL_MAX_INBOUND_MEDIA_BYTES. */
  maxBytes: number;
  /** Downloads tried when the platform fails in a way that passes (default 3). */
  attempts?: number;
  /** First wait between attempts, doubled each time unless the platform says how long (default 500 ms). */
  retryDelayMs?: number;
}

/** An unfinished import older than this died with its process (downloads time out well before). */
const IMPORT_LEASE = '5 minutes';
/** The longest wait between attempts, whatever the platform asks: the inbound stream waits meanwhile. */
const MAX_RETRY_WAIT_MS = 10_000;

export class ChannelMediaImport {
  private readonly connectors: ReadonlyMap<ExternalChannel, Connector>;
  private readonly attempts: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    connectors: readonly Connector[],
    private readonly settings: MediaImportSettings,
    private readonly logger: Logger,
  ) {
    this.connectors = new Map(connectors.map((c) => [c.channel, c]));
    this.attempts = Math.max(1, settings.attempts ?? 3);
    this.retryDelayMs = settings.retryDelayMs ?? 500;
  }

  /** The MediaImporter for inboundContent(). */
  readonly importer: MediaImporter = (m, media) => this.import(m, media);

  async import(m: InboundMessage, media: InboundMedia): Promise<FilePayload | undefined> {
    const connector = this.connectors.get(m.channel);
    // The mock connector has no platform to download from.
    if (!connector?.fetchMedia) return undefined;
    const fileId = inboundFileId(m.channel, m.providerEventId);
    const caption = media.caption ?? m.text;
    const stored = await this.completed(fileId);
    if (stored) return withCaption(stored, caption);
    const log = { channel: m.channel, event: m.providerEventId, file_id: fileId, kind: media.kind };
    for (let attempt = 1; ; attempt++) {
      try {
        return withCaption(await this.fetchAndStore(connector, m, media, fileId), caption);
      } catch (e) {
        if (e instanceof MediaTooLarge) {
          this.logger.info({ ...log, max_bytes: e.maxBytes, size_bytes: e.sizeBytes }, 'inbound media over CHANNEL_MAX_INBOUND_MEDIA_BYTES: kept as a note');
          return undefined;
        }
        if (!(e instanceof ConnectorError)) throw e;
        if (!e.isPermanent && attempt < this.attempts) {
          await sleep(Math.min(e.retryAfterMs ?? this.retryDelayMs * 2 ** (attempt - 1), MAX_RETRY_WAIT_MS));
          continue;
        }
        this.logger.warn(
          { ...log, err: e, error_class: e.errorClass, provider_code: e.providerCode, attempts: attempt },
          'inbound media could not be downloaded: kept as a note',
        );
        return undefined;
      }
    }
  }

  private async fetchAndStore(connector: Connector, m: InboundMessage, media: InboundMedia, fileId: string): Promise<FilePayload> {
    const fetched = await connector.fetchMedia!(media, this.settings.maxBytes);
    const declared = normaliseMime(media.mimeType ?? fetched.mimeType) ?? GENERIC_MIME;
    const named = media.filename ?? fetched.filename;
    // A row first, so that the collector removes the bytes of an import that dies half-way.
    if (!(await this.claim(fileId, m.channel, named ?? media.kind, declared, fetched.sizeBytes))) {
      fetched.body.destroy();
      const stored = await this.completed(fileId);
      if (stored) return stored;
      throw new Error(`inbound media ${fileId} is being imported by another worker`);
    }
    const digest = await this.store(fileId, fetched);
    const mimeType = await this.typeOf(declared, digest.head(), { channel: m.channel, file_id: fileId });
    const filename = displayFilename(named ?? `${media.kind}${extensionOf(mimeType)}`);
    const [row] = await this.db.query(
      `UPDATE uploads SET status = 'completed', sha256 = $2, mime_type = $3, filename = $4, completed_at = now()
        WHERE id = $1 AND status = 'uploading' RETURNING id`,
      [fileId, digest.hex(), mimeType, filename],
    );
    if (!row) throw new Error(`inbound media ${fileId} changed while it was stored`);
    return { type: 'file', file_id: fileId, filename, size_bytes: fetched.sizeBytes, mime_type: mimeType };
  }

  /** The type to serve: the platform's word is a claim, and bytes that contradict it are served as what they are. */
  private async typeOf(declared: string, head: Buffer, log: object): Promise<string> {
    const verdict = await checkContentType(declared, head);
    if ('mimeType' in verdict) return verdict.mimeType;
    this.logger.info({ ...log, mismatch: verdict.mismatch }, 'inbound media is not of the type the platform stated');
    const detected = await checkContentType(GENERIC_MIME, head);
    return 'mimeType' in detected ? detected.mimeType : GENERIC_MIME;
  }

  /** Inserts the unfinished row; a row left by an import that died is replaced. False when another import holds it or it is done. */
  private async claim(fileId: string, channel: ExternalChannel, filename: string, declared: string, sizeBytes: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM uploads WHERE id = $1 AND status <> 'completed' AND created_at < now() - $2::interval`, [fileId, IMPORT_LEASE]);
      const rows = await tx.query(
        `INSERT INTO uploads (id, uploader_id, source_channel, protocol, filename, declared_type, size_bytes, chunk_size, total_chunks, status, expires_at)
         VALUES ($1, NULL, $2, 'chunks', $3, $4, $5, $6, 1, 'uploading', now() + interval '1 day')
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [fileId, channel, displayFilename(filename), declared, sizeBytes, Math.min(Math.max(sizeBytes, 1), 2 ** 31 - 1)],
      );
      return rows.length > 0;
    });
  }

  /** Streams the download into the store while hashing it. A download that breaks off is the platform's failure (worth another attempt). */
  private async store(fileId: string, fetched: FetchedMedia): Promise<Digest> {
    const digest = new Digest(SNIFF_BYTES);
    let platformFailure: unknown;
    fetched.body.once('error', (e) => (platformFailure ??= e));
    try {
      await this.blobs.put(blobKey(fileId), through(fetched.body, digest), fetched.sizeBytes);
      return digest;
    } catch (e) {
      fetched.body.destroy();
      await this.db.query(`DELETE FROM uploads WHERE id = $1 AND status = 'uploading'`, [fileId]);
      await this.blobs.delete(blobKey(fileId)).catch(() => undefined);
      if (platformFailure === undefined) throw e;
      const detail = platformFailure instanceof Error ? platformFailure.message : String(platformFailure);
      throw new ConnectorError(`the download broke off: ${detail}`, 'network', { cause: platformFailure });
    }
  }

  private async completed(fileId: string): Promise<FilePayload | undefined> {
    const [row] = await this.db.query(`SELECT filename, size_bytes, mime_type FROM uploads WHERE id = $1 AND status = 'completed'`, [fileId]);
    return row
      ? { type: 'file', file_id: fileId, filename: String(row.filename), size_bytes: Number(row.size_bytes), mime_type: String(row.mime_type) }
      : undefined;
  }
}

const withCaption = (p: FilePayload, caption: string | undefined): FilePayload => (caption ? { ...p, caption } : p);

/** The same provider event always stores its media under the same file id (a UUID derived from it). */
export function inboundFileId(channel: ExternalChannel, providerEventId: string): string {
  const h = createHash('sha256').update(`media:${channel}:${providerEventId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80; // version 8: custom
  h[8] = (h[8] & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

// Names for files the platform sent without one ("image.jpg" rather than "image").
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/webp': '.webp',
  'image/gif': '.gif',
  'video/mp4': '.mp4',
  'video/3gpp': '.3gp',
  'audio/ogg': '.ogg',
  'audio/mpeg': '.mp3',
  'audio/mp4': '.m4a',
  'audio/aac': '.aac',
  'audio/amr': '.amr',
  'application/pdf': '.pdf',
};
const extensionOf = (mime: string) => EXTENSIONS[mime] ?? '';
