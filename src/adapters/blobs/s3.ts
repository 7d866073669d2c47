import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type _Object,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BlobNotFound, type BlobStore, type PresignOptions, type StaleBlob, type StoredPart } from '../../ports/blob-store.ts';
import { sendChecked } from './exact-length.ts';

/** S3's smallest part, except for the last one. */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
/** Staged parts are regrouped into multipart parts of at least this size at completion. */
const STAGED_GROUP_BYTES = 8 * 1024 * 1024;
const ASSEMBLY_CONCURRENCY = 4;

export interface S3Settings {
  endpoint?: string;
  bucket: string;
  accessKey?: string;
  secretKey?: string;
  region: string;
  forcePathStyle: boolean;
  /** Prepended to every key, so that several deployments (or test runs) can share a bucket. */
  prefix?: string;
}

/**
 * Any S3-compatible store (AWS S3, MinIO, R2, S3Proxy) through plain S3 API calls.
 *
 * Parts of at least 5 MiB are real multipart parts (handle `m:<UploadId>`): S3 assembles them at
 * completion with no copy. Smaller parts (chunk_size may be 1 MiB) cannot be, because S3 refuses
 * parts under 5 MiB but the last; and UploadPartCopy cannot join several small objects into one
 * part either. So they are staged as separate objects (handle `s:<nonce>`) and, at completion,
 * streamed back through this process in groups of ≥ 8 MiB into a multipart upload: one copy, but
 * never more than a few stream buffers in memory, and only for clients that chose small chunks.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(settings: S3Settings) {
    this.bucket = settings.bucket;
    this.prefix = settings.prefix ?? '';
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.accessKey && settings.secretKey ? { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey } : undefined,
      // Checksums only where S3 requires them: we verify SHA-256 ourselves, and a streamed body
      // would otherwise be re-framed as aws-chunked, which not every S3-compatible server accepts.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async createUpload(key: string, partSize: number): Promise<string> {
    if (partSize < S3_MIN_PART_BYTES) return `s:${randomUUID()}`;
    const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.k(key) }));
    if (!out.UploadId) throw new Error('S3 returned no UploadId');
    return `m:${out.UploadId}`;
  }

  async putPart(key: string, handle: string, partNumber: number, body: Readable, size: number): Promise<string> {
    const h = parseHandle(handle);
    if (h.isStaged) {
      const out = await sendChecked(body, size, (Body, abortSignal) =>
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.stagedKey(key, h.id, partNumber), Body, ContentLength: size }), { abortSignal }),
      );
      return out.ETag ?? '';
    }
    const out = await sendChecked(body, size, (Body, abortSignal) =>
      this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.k(key), UploadId: h.id, PartNumber: partNumber, Body, ContentLength: size }), {
        abortSignal,
      }),
    );
    if (!out.ETag) throw new Error('S3 returned no ETag for the part');
    return out.ETag;
  }

  async completeUpload(key: string, handle: string, parts: readonly StoredPart[]): Promise<void> {
    const h = parseHandle(handle);
    try {
      if (h.isStaged) await this.assembleStaged(key, h.id, parts);
      else {
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.k(key),
            UploadId: h.id,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.token })) },
          }),
        );
      }
    } catch (e) {
      // A second call after success: the upload (or the staged parts) are gone, the object is there.
      if ((isNamed(e, 'NoSuchUpload') || e instanceof BlobNotFound) && (await this.exists(key))) return;
      throw translate(e, key);
    }
  }

  private async assembleStaged(key: string, nonce: string, parts: readonly StoredPart[]): Promise<void> {
    if (parts.length === 0) throw new BlobNotFound(key);
    // Staged parts are deleted once assembled: if the first is gone, this ran before (or never had parts).
    if (!(await this.exists(this.stagedKey(key, nonce, parts[0].partNumber), false))) throw new BlobNotFound(key);
    const groups: StoredPart[][] = [[]];
    let groupBytes = 0;
    for (const p of parts) {
      if (groupBytes >= STAGED_GROUP_BYTES) {
        groups.push([]);
        groupBytes = 0;
      }
      groups[groups.length - 1].push(p);
      groupBytes += p.size;
    }
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.k(key) }));
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error('S3 returned no UploadId');
    try {
      const etags: string[] = new Array(groups.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < groups.length; i = next++) {
          const group = groups[i];
          const size = group.reduce((s, p) => s + p.size, 0);
          const body = Readable.from(this.concat(group.map((p) => this.stagedKey(key, nonce, p.partNumber))));
          const out = await sendChecked(body, size, (Body, abortSignal) =>
            this.client.send(
              new UploadPartCommand({ Bucket: this.bucket, Key: this.k(key), UploadId: uploadId, PartNumber: i + 1, Body, ContentLength: size }),
              { abortSignal },
            ),
          );
          etags[i] = out.ETag ?? '';
        }
      };
      await Promise.all(Array.from({ length: Math.min(ASSEMBLY_CONCURRENCY, groups.length) }, worker));
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.k(key),
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
    } catch (e) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.k(key), UploadId: uploadId })).catch(() => undefined);
      throw e;
    }
    await this.deletePrefix(this.stagedPrefix(key, nonce));
  }

  /** The staged objects one after another, each fetched only when the previous one is drained. */
  private async *concat(keys: string[]): AsyncIterable<Buffer> {
    for (const key of keys) {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })).catch((e: unknown) => {
        throw translate(e, key);
      });
      for await (const chunk of out.Body as Readable) yield chunk as Buffer;
    }
  }

  async abortUpload(key: string, handle: string): Promise<void> {
    const h = parseHandle(handle);
    if (h.isStaged) return this.deletePrefix(this.stagedPrefix(key, h.id));
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.k(key), UploadId: h.id }));
    } catch (e) {
      if (!isNamed(e, 'NoSuchUpload') && !isNotFound(e)) throw e;
    }
  }

  async put(key: string, body: Readable, size: number): Promise<void> {
    await sendChecked(body, size, (Body, abortSignal) =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.k(key), Body, ContentLength: size }), { abortSignal }),
    );
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.k(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return out.Body as Readable;
    } catch (e) {
      throw translate(e, key);
    }
  }

  async presignGet(key: string, options: PresignOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.k(key),
      ResponseContentDisposition: options.contentDisposition,
      ResponseContentType: options.contentType,
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresSeconds });
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
  }

  async *listStale(before: Date): AsyncIterable<StaleBlob> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix || undefined, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key && u.UploadId && u.Initiated && u.Initiated < before) yield { kind: 'upload', key: this.unprefixed(u.Key), handle: `m:${u.UploadId}` };
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);

    // Staged parts: `.parts/<key>/<nonce>/<n>`, listed in key order, so each upload's parts are adjacent.
    let group: { key: string; nonce: string; newest: number } | undefined;
    for await (const o of this.listObjects(`${this.prefix}.parts/`)) {
      const m = /^\.parts\/(.+)\/([0-9a-f-]{36})\/\d+$/.exec(this.unprefixed(o.Key ?? ''));
      if (!m) continue;
      if (group && (group.key !== m[1] || group.nonce !== m[2])) {
        if (group.newest < before.getTime()) yield { kind: 'upload', key: group.key, handle: `s:${group.nonce}` };
        group = undefined;
      }
      group ??= { key: m[1], nonce: m[2], newest: 0 };
      group.newest = Math.max(group.newest, o.LastModified?.getTime() ?? 0);
    }
    if (group && group.newest < before.getTime()) yield { kind: 'upload', key: group.key, handle: `s:${group.nonce}` };

    for await (const o of this.listObjects(`${this.prefix}tmp/`)) {
      if (o.Key && (o.LastModified?.getTime() ?? 0) < before.getTime()) yield { kind: 'object', key: this.unprefixed(o.Key) };
    }
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /**
   * Creates the bucket when it does not exist (S3_CREATE_BUCKET); true when it made it. Several
   * instances starting together may race: the loser's "already owned by you" counts as success.
   */
  async ensureBucket(region: string): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return false;
    } catch (e) {
      if (!isNotFound(e) && !isNamed(e, 'NoSuchBucket')) throw e;
    }
    try {
      // us-east-1 is the one region S3 wants no LocationConstraint for.
      const location = region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } };
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket, ...location }));
      return true;
    } catch (e) {
      if (isNamed(e, 'BucketAlreadyOwnedByYou')) return false;
      throw e;
    }
  }

  /** The bucket's region as HeadBucket reports it (S3 answers x-amz-bucket-region), for `chat4all doctor`. */
  async describe(): Promise<string> {
    const out = await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    return `bucket ${this.bucket}${out.BucketRegion ? ` in ${out.BucketRegion}` : ''}`;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async *listObjects(prefix: string): AsyncIterable<_Object> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      yield* page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deletePrefix(prefix: string): Promise<void> {
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      batch = [];
    };
    for await (const o of this.listObjects(prefix)) {
      if (o.Key) batch.push(o.Key);
      if (batch.length === 1000) await flush();
    }
    await flush();
  }

  private async exists(key: string, isPrefixed = true): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: isPrefixed ? this.k(key) : key }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  private unprefixed(key: string): string {
    return key.startsWith(this.prefix) ? key.slice(this.prefix.length) : key;
  }

  private stagedPrefix(key: string, nonce: string): string {
    return `${this.prefix}.parts/${key}/${nonce}/`;
  }

  private stagedKey(key: string, nonce: string, partNumber: number): string {
    return `${this.stagedPrefix(key, nonce)}${String(partNumber).padStart(5, '0')}`;
  }
}

function parseHandle(handle: string): { isStaged: boolean; id: string } {
  const m = /^([ms]):(.+)$/.exec(handle);
  if (!m) throw new Error('invalid upload handle');
  return { isStaged: m[1] === 's', id: m[2] };
}

const isNamed = (e: unknown, name: string) => (e as { name?: string })?.name === name;
const isNotFound = (e: unknown) =>
  isNamed(e, 'NoSuchKey') || isNamed(e, 'NotFound') || (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

/** AWS error names stay here: the application sees BlobNotFound or a plain Error. */
function translate(e: unknown, key: string): unknown {
  if (isNotFound(e)) return new BlobNotFound(key);
  return e;
}
