import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FsBlobStore } from '../../src/adapters/blobs/fs.ts';
import { S3BlobStore } from '../../src/adapters/blobs/s3.ts';
import { emptyPrefix, testS3 } from '../support/s3.ts';
import { describeBlobStore } from './blob-store.contract.ts';

let dir = '';
describeBlobStore(
  'fs',
  async () => FsBlobStore.open((dir = await mkdtemp(path.join(os.tmpdir(), 'chat4all-blobs-')))),
  () => rm(dir, { recursive: true, force: true }),
);

const s3 = testS3('BlobStore contract');
if (s3)
  describeBlobStore(
    's3',
    async () => new S3BlobStore(s3.settings),
    () => emptyPrefix(s3),
  );
