/** The files feature as the transports see it: uploads (chunk API and tus), downloads, the collector. */
import type { Database } from '../../ports/database.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { Logger } from '../logger.ts';
import type { FileResolver } from '../messages.ts';
import { UploadCollector } from './collector.ts';
import { Downloads, shareFile } from './downloads.ts';
import { Finalizer } from './finalize.ts';
import { TusUploads } from './tus.ts';
import { Uploads, type UploadSettings } from './uploads.ts';

export interface FileServices {
  readonly uploads: Uploads;
  readonly tus: TusUploads;
  readonly downloads: Downloads;
  readonly collector: UploadCollector;
  /** For Messages: a file payload the sender may share, recorded as shared in the conversation. */
  readonly resolveFile: FileResolver;
}

/** `instanceId`: this process in the instances table, the owner of the upload claims it takes. */
export function createFileServices(db: Database, blobs: BlobStore, settings: UploadSettings, logger: Logger, instanceId: string): FileServices {
  const log = logger.child({ component: 'files' });
  const finalizer = new Finalizer(db, blobs, log);
  const uploads = new Uploads(db, blobs, finalizer, settings, log, instanceId);
  return {
    uploads,
    tus: new TusUploads(db, blobs, uploads, finalizer, log, instanceId),
    downloads: new Downloads(db, blobs),
    collector: new UploadCollector(db, blobs, log.child({ component: 'gc' })),
    resolveFile: shareFile,
  };
}
