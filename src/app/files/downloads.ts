/** Completed files: who may see them, their metadata and bytes, and sharing them in messages. */
import type { Readable } from 'node:stream';
import type { Database, Sql } from '../../ports/database.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import { invalid, notFound } from '../../domain/errors.ts';
import type { FilePayload } from '../../domain/message.ts';
import { iso } from '../time.ts';
import { blobKey } from './records.ts';
import type { OutboundFile } from '../../ports/connector.ts';

export interface FileView {
  file_id: string;
  filename: string;
  size_bytes: number;
  mime_type: string;
  sha256: string;
  /** null for media a contact sent on a channel. */
  uploader_id: number | null;
  created_at: string;
}

/** How long a presigned download URL stays valid. */
const PRESIGN_SECONDS = 300;

// A completed file the user uploaded, or one shared in a conversation the user belongs to.
const VISIBLE_FILE = `SELECT u.id, u.filename, u.size_bytes, u.mime_type, u.sha256, u.uploader_id, u.completed_at FROM uploads u
  WHERE u.id = $1 AND u.status = 'completed' AND (u.uploader_id = $2 OR EXISTS (
    SELECT 1 FROM file_shares s JOIN members m ON m.conversation_id = s.conversation_id AND m.user_id = $2 WHERE s.file_id = u.id))`;

export class Downloads {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
  ) {}

  /** A completed file as a connector sends it: metadata, a presigned URL where the store has them, and its bytes. */
  async outboundFile(fileId: string): Promise<OutboundFile> {
    const [row] = await this.db.query(`SELECT filename, size_bytes, mime_type FROM uploads WHERE id = $1 AND status = 'completed'`, [fileId]);
    if (!row) throw notFound('file-not-found', `File ${fileId} does not exist or is not completed`);
    const key = blobKey(fileId);
    const filename = String(row.filename);
    const mimeType = String(row.mime_type);
    const url = await this.blobs.presignGet(key, {
      expiresSeconds: PRESIGN_SECONDS * 12,
      contentDisposition: `attachment; filename="${filename.replace(/["\\\r\n]/g, '_')}"`,
      contentType: mimeType,
    });
    return { filename, mimeType, sizeBytes: Number(row.size_bytes), ...(url ? { url } : {}), open: () => this.blobs.read(key) };
  }

  /** The file's metadata if the user may see it; 404 otherwise (whether it exists is not revealed). */
  async describe(userId: number, fileId: string): Promise<FileView> {
    const [row] = await this.db.query(VISIBLE_FILE, [fileId, userId]);
    if (!row) throw notFound('file-not-found', `File ${fileId} does not exist or is not shared with you`);
    return {
      file_id: String(row.id),
      filename: String(row.filename),
      size_bytes: Number(row.size_bytes),
      mime_type: String(row.mime_type),
      sha256: String(row.sha256),
      uploader_id: row.uploader_id === null ? null : Number(row.uploader_id),
      created_at: iso(row.completed_at),
    };
  }

  /** A short-lived URL at the store for a file the caller may see (from describe), or undefined when bytes must be streamed. */
  presignedUrl(file: FileView, contentDisposition: string): Promise<string | undefined> {
    return this.blobs.presignGet(blobKey(file.file_id), { expiresSeconds: PRESIGN_SECONDS, contentDisposition, contentType: file.mime_type });
  }

  /** The bytes (inclusive range, or all) of a file the caller may see (from describe). */
  read(file: FileView, range?: { start: number; end: number }): Promise<Readable> {
    return this.blobs.read(blobKey(file.file_id), range);
  }
}

/**
 * The FileResolver of Messages: runs inside the send transaction, so the share is recorded with
 * the message or not at all. The sender may share a file it uploaded or one shared with it.
 */
export async function shareFile(sql: Sql, senderId: number, fileId: string, conversationId: number): Promise<FilePayload> {
  const [row] = await sql.query(VISIBLE_FILE, [fileId, senderId]);
  if (!row) throw invalid('file-not-found', `File ${fileId} does not exist, is not completed or is not yours to share`);
  await sql.query('INSERT INTO file_shares (file_id, conversation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [fileId, conversationId]);
  return { type: 'file', file_id: fileId, filename: String(row.filename), size_bytes: Number(row.size_bytes), mime_type: String(row.mime_type) };
}
