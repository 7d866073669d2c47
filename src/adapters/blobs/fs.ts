import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFound, type BlobStore, type StaleBlob, type StoredPart } from '../../ports/blob-store.ts';
import { exactLength } from './exact-length.ts';

const KEY = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)*$/;
const HANDLE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface UploadMeta {
  key: string;
  partSize: number;
}

/**
 * Files under DATA_DIR/blobs: `objects/<key>` for finished objects, `uploads/<handle>/` for
 * multipart uploads in progress. Parts are written straight into one sparse file at their offset
 * ((n - 1) × partSize), so completing an upload is a truncate and a rename: no copy, however the
 * parts arrived. Concurrent parts write disjoint ranges through their own file descriptors.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';

  private constructor(private readonly root: string) {}

  static async open(root: string): Promise<FsBlobStore> {
    await mkdir(path.join(root, 'objects'), { recursive: true });
    await mkdir(path.join(root, 'uploads'), { recursive: true });
    return new FsBlobStore(root);
  }

  async createUpload(key: string, partSize: number): Promise<string> {
    this.objectPath(key);
    const handle = randomUUID();
    const dir = this.uploadDir(handle);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ key, partSize } satisfies UploadMeta));
    return handle;
  }

  async putPart(key: string, handle: string, partNumber: number, body: Readable, size: number): Promise<string> {
    const meta = await this.meta(key, handle);
    const file = await open(path.join(this.uploadDir(handle), 'data'), constants.O_WRONLY | constants.O_CREAT, 0o600);
    await pipeline(body, exactLength(size), file.createWriteStream({ start: (partNumber - 1) * meta.partSize }));
    return String(size);
  }

  async completeUpload(key: string, handle: string, parts: readonly StoredPart[]): Promise<void> {
    let meta: UploadMeta;
    try {
      meta = await this.meta(key, handle);
    } catch (e) {
      // Already assembled by an earlier call: the upload directory is gone, the object is there.
      if (e instanceof BlobNotFound && (await exists(this.objectPath(key)))) return;
      throw e;
    }
    let total = 0;
    parts.forEach((p, i) => {
      if (p.partNumber !== i + 1) throw new Error(`parts must be contiguous from 1 (got ${p.partNumber} at ${i + 1})`);
      if (i < parts.length - 1 && p.size !== meta.partSize) throw new Error(`part ${p.partNumber} has ${p.size} bytes, expected ${meta.partSize}`);
      total += p.size;
    });
    const data = path.join(this.uploadDir(handle), 'data');
    const file = await open(data, constants.O_WRONLY | constants.O_CREAT, 0o600);
    try {
      await file.truncate(total);
      await file.sync();
    } finally {
      await file.close();
    }
    const target = this.objectPath(key);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(data, target);
    await rm(this.uploadDir(handle), { recursive: true, force: true });
  }

  async abortUpload(_key: string, handle: string): Promise<void> {
    await rm(this.uploadDir(handle), { recursive: true, force: true });
  }

  async put(key: string, body: Readable, size: number): Promise<void> {
    const target = this.objectPath(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Written beside the target and renamed: a reader never sees half an object.
    const temp = `${target}.${randomUUID()}.partial`;
    try {
      const file = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await pipeline(body, exactLength(size), file.createWriteStream());
      await rename(temp, target);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw e;
    }
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const file = await open(this.objectPath(key), 'r');
      // Larger reads than the 64 KiB default: hashing a completed upload reads it whole.
      return file.createReadStream({ highWaterMark: 256 * 1024, ...(range ? { start: range.start, end: range.end } : {}) });
    } catch (e) {
      if (isMissing(e)) throw new BlobNotFound(key);
      throw e;
    }
  }

  async presignGet(): Promise<undefined> {
    return undefined;
  }

  async delete(key: string): Promise<void> {
    const file = this.objectPath(key);
    await rm(file, { force: true });
    // Scratch keys nest (tmp/tus/<id>/<segment>): drop directories this left empty, below the
    // first two levels, which stay so that concurrent writers never see their parent vanish.
    const keep = path.join(this.root, 'objects', ...key.split('/').slice(0, 2));
    for (let dir = path.dirname(file); dir.startsWith(keep + path.sep); dir = path.dirname(dir)) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
  }

  async *listStale(before: Date): AsyncIterable<StaleBlob> {
    for (const handle of await readdir(path.join(this.root, 'uploads'))) {
      if (!HANDLE.test(handle)) continue;
      const dir = this.uploadDir(handle);
      const touched = (await lastModified(path.join(dir, 'data'))) ?? (await lastModified(path.join(dir, 'meta.json')));
      if (touched === undefined || touched >= before.getTime()) continue;
      const meta = await readMeta(dir);
      if (meta) yield { kind: 'upload', key: meta.key, handle };
    }
    yield* this.staleObjects(path.join(this.root, 'objects', 'tmp'), before);
  }

  private async *staleObjects(dir: string, before: Date): AsyncIterable<StaleBlob> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) yield* this.staleObjects(full, before);
      else if (((await lastModified(full)) ?? Infinity) < before.getTime()) {
        yield { kind: 'object', key: path.relative(path.join(this.root, 'objects'), full).split(path.sep).join('/') };
      }
    }
  }

  async ping(): Promise<void> {
    await stat(this.root);
  }

  async close(): Promise<void> {}

  /** Keys are built by the application from ids; anything else is refused rather than resolved. */
  private objectPath(key: string): string {
    if (!KEY.test(key)) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    return path.join(this.root, 'objects', ...key.split('/'));
  }

  private uploadDir(handle: string): string {
    if (!HANDLE.test(handle)) throw new Error('invalid upload handle');
    return path.join(this.root, 'uploads', handle);
  }

  private async meta(key: string, handle: string): Promise<UploadMeta> {
    const meta = await readMeta(this.uploadDir(handle));
    if (!meta || meta.key !== key) throw new BlobNotFound(key);
    return meta;
  }
}

async function readMeta(dir: string): Promise<UploadMeta | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')) as UploadMeta;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

async function lastModified(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mtimeMs;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

async function exists(file: string): Promise<boolean> {
  return (await lastModified(file)) !== undefined;
}

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT';
