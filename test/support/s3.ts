/**
 * The S3-compatible server the blob-store and file suites use: S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY,
 * S3_SECRET_KEY as `eval "$(scripts/services.sh up s3)"` exports them. Locally a missing server is
 * a visible skip; under CI=true it is a failure. Each caller gets its own key prefix, so suites
 * sharing the bucket never see (or garbage-collect) each other's objects.
 */
import { randomUUID } from 'node:crypto';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client, ListMultipartUploadsCommand, AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { isCi } from './stores.ts';

export interface TestS3 {
  env: Record<string, string>;
  settings: { endpoint: string; bucket: string; accessKey: string; secretKey: string; region: string; forcePathStyle: boolean; prefix: string };
}

const HINT = 'start it with: eval "$(scripts/services.sh up s3)"';

/** A fresh prefix on the configured S3 server, or undefined (warned) when none is configured. */
export function testS3(suite: string): TestS3 | undefined {
  const endpoint = process.env.S3_ENDPOINT ?? process.env.MINIO_ENDPOINT;
  const bucket = process.env.S3_BUCKET ?? process.env.MINIO_BUCKET;
  const accessKey = process.env.S3_ACCESS_KEY ?? process.env.MINIO_ACCESS_KEY;
  const secretKey = process.env.S3_SECRET_KEY ?? process.env.MINIO_SECRET_KEY;
  if (!endpoint || !bucket || !accessKey || !secretKey) {
    if (isCi) throw new Error(`CI=true but S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY and S3_SECRET_KEY are not all set: ${suite} cannot run (${HINT})`);
    console.warn(`[chat4all tests] ${suite} on S3 skipped: S3_ENDPOINT/S3_BUCKET/S3_ACCESS_KEY/S3_SECRET_KEY not set (${HINT})`);
    return undefined;
  }
  const region = process.env.S3_REGION ?? 'us-east-1';
  const prefix = `test-${randomUUID()}/`;
  return {
    env: {
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY: accessKey,
      S3_SECRET_KEY: secretKey,
      S3_REGION: region,
      S3_FORCE_PATH_STYLE: 'true',
      S3_PREFIX: prefix,
    },
    settings: { endpoint, bucket, accessKey, secretKey, region, forcePathStyle: true, prefix },
  };
}

/** A raw client for assertions about what the bucket holds. */
export function rawClient(s3: TestS3): S3Client {
  const s = s3.settings;
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Every object key under the prefix (without it) and every unfinished multipart upload's key. */
export async function listPrefix(s3: TestS3): Promise<{ objects: string[]; uploads: string[] }> {
  const client = rawClient(s3);
  try {
    const { bucket, prefix } = s3.settings;
    const objects: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) objects.push(o.Key.slice(prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const uploads = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads ?? [];
    return { objects, uploads: uploads.map((u) => (u.Key ?? '').slice(prefix.length)) };
  } finally {
    client.destroy();
  }
}

/** Removes everything under the prefix (objects and unfinished multipart uploads). */
export async function emptyPrefix(s3: TestS3): Promise<void> {
  const client = rawClient(s3);
  try {
    const { bucket, prefix } = s3.settings;
    const uploads = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads ?? [];
    for (const u of uploads) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId })).catch(() => undefined);
    for (;;) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    }
  } finally {
    client.destroy();
  }
}
