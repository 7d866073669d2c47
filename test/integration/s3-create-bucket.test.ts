/**
 * S3_CREATE_BUCKET against the real S3-compatible server: a fresh bucket name is created at start
 * (once, even by instances starting together), left alone when it exists, and never created when
 * the setting is off (production's default), so that /ready shows the missing bucket instead.
 */
import { randomUUID } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectsCommand, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openBlobStore } from '../../src/compose.ts';
import { rawClient, testS3 } from '../support/s3.ts';

const s3 = testS3('S3_CREATE_BUCKET');

describe.skipIf(!s3)('S3_CREATE_BUCKET', () => {
  const bucket = `chat4all-create-${randomUUID().slice(0, 8)}`;
  const client = s3 ? rawClient(s3) : undefined;
  const logger = pino({ level: 'silent' });
  const config = (extra: Record<string, string>) =>
    loadConfig({ ...s3?.env, S3_BUCKET: bucket, DATA_DIR: '/tmp/chat4all-unused', LOG_LEVEL: 'silent', ...extra });
  const exists = () =>
    client!.send(new HeadBucketCommand({ Bucket: bucket })).then(
      () => true,
      () => false,
    );

  afterAll(async () => {
    if (!client) return;
    // The bucket is this test's own: empty it and delete it.
    if (await exists()) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
    client.destroy();
  });

  it('defaults: on outside production, off in production', () => {
    expect(config({ ENVIRONMENT: 'development' }).s3.createBucket).toBe(true);
    expect(config({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'k'.repeat(32) }).s3.createBucket).toBe(false);
    expect(config({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'k'.repeat(32), S3_CREATE_BUCKET: 'true' }).s3.createBucket).toBe(true);
  });

  it('off: a missing bucket is not created, and the store’s ping (the /ready check) fails', async () => {
    const store = await openBlobStore(config({ S3_CREATE_BUCKET: 'false' }), logger);
    try {
      await expect(store.ping()).rejects.toThrow();
      expect(await exists()).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('on: the bucket is created at start, by one of several instances starting together, and then used', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => openBlobStore(config({ S3_CREATE_BUCKET: 'true' }), logger)));
    try {
      expect(await exists()).toBe(true);
      for (const store of stores) await store.ping();
      // Starting again finds it there and leaves it be.
      const again = await openBlobStore(config({ S3_CREATE_BUCKET: 'true' }), logger);
      await again.ping();
      await again.close();
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
