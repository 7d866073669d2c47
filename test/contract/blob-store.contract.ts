/** The BlobStore contract: every adapter (fs, S3) must pass these. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobNotFound, type BlobStore, type StoredPart } from '../../src/ports/blob-store.ts';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const streamOf = (b: Buffer) => Readable.from([b]);
async function drain(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Uploads `data` in parts of `partSize`, in the given order, `parallel` at a time. */
async function uploadParts(store: BlobStore, key: string, data: Buffer, partSize: number, order: 'forward' | 'reverse' = 'forward', parallel = 1) {
  const handle = await store.createUpload(key, partSize);
  const count = Math.ceil(data.length / partSize);
  const numbers = Array.from({ length: count }, (_, i) => i + 1);
  if (order === 'reverse') numbers.reverse();
  const parts: StoredPart[] = [];
  for (let i = 0; i < numbers.length; i += parallel) {
    await Promise.all(
      numbers.slice(i, i + parallel).map(async (n) => {
        const body = data.subarray((n - 1) * partSize, Math.min(n * partSize, data.length));
        parts.push({ partNumber: n, token: await store.putPart(key, handle, n, streamOf(body), body.length), size: body.length });
      }),
    );
  }
  parts.sort((a, b) => a.partNumber - b.partNumber);
  return { handle, parts };
}

export function describeBlobStore(name: string, open: () => Promise<BlobStore>, teardown: () => Promise<void> = async () => undefined) {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    const key = () => `files/${randomUUID()}`;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
      await teardown();
    });

    it('answers the readiness ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('assembles 1 MiB parts uploaded in reverse order and in parallel', async () => {
      const k = key();
      const data = randomBytes(3 * MiB + 12_345);
      const { handle, parts } = await uploadParts(store, k, data, MiB, 'reverse', 4);
      await store.completeUpload(k, handle, parts);
      expect(sha(await drain(await store.read(k)))).toBe(sha(data));
    });

    it('assembles 5 MiB parts (native multipart on S3) and serves byte ranges', async () => {
      const k = key();
      const data = randomBytes(11 * MiB + 7);
      const { handle, parts } = await uploadParts(store, k, data, 5 * MiB, 'forward', 3);
      await store.completeUpload(k, handle, parts);
      expect(sha(await drain(await store.read(k)))).toBe(sha(data));
      const slice = await drain(await store.read(k, { start: 5 * MiB - 10, end: 5 * MiB + 9 }));
      expect(slice.equals(data.subarray(5 * MiB - 10, 5 * MiB + 10))).toBe(true);
    });

    it('treats a second completion as a no-op', async () => {
      const k = key();
      const data = randomBytes(100_000);
      const { handle, parts } = await uploadParts(store, k, data, MiB);
      await store.completeUpload(k, handle, parts);
      await store.completeUpload(k, handle, parts);
      expect(sha(await drain(await store.read(k)))).toBe(sha(data));
    });

    it('replaces a part stored again under the same number', async () => {
      const k = key();
      const handle = await store.createUpload(k, MiB);
      const first = randomBytes(1000);
      const second = randomBytes(1000);
      await store.putPart(k, handle, 1, streamOf(first), 1000);
      const token = await store.putPart(k, handle, 1, streamOf(second), 1000);
      await store.completeUpload(k, handle, [{ partNumber: 1, token, size: 1000 }]);
      expect((await drain(await store.read(k))).equals(second)).toBe(true);
    });

    it('rejects a part whose stream is shorter or longer than announced', async () => {
      const k = key();
      const handle = await store.createUpload(k, MiB);
      await expect(store.putPart(k, handle, 1, streamOf(randomBytes(999)), 1000)).rejects.toThrow();
      await expect(store.putPart(k, handle, 1, streamOf(randomBytes(1001)), 1000)).rejects.toThrow();
      await store.abortUpload(k, handle);
    });

    it('rejects a part whose stream fails midway', async () => {
      const k = key();
      const handle = await store.createUpload(k, MiB);
      // 500 bytes, then the client goes away (only once the store reads on, so the error has a listener).
      let isSent = false;
      const failing = new Readable({
        read() {
          if (isSent) this.destroy(new Error('client went away'));
          else this.push(randomBytes(500));
          isSent = true;
        },
      });
      await expect(store.putPart(k, handle, 1, failing, 1000)).rejects.toThrow();
      await store.abortUpload(k, handle);
    });

    it('aborts an upload: nothing to read, aborting again succeeds', async () => {
      const k = key();
      const { handle } = await uploadParts(store, k, randomBytes(2 * MiB), MiB);
      await store.abortUpload(k, handle);
      await store.abortUpload(k, handle);
      await expect(store.read(k)).rejects.toBeInstanceOf(BlobNotFound);
    });

    it('writes, reads and deletes whole objects; a missing object is BlobNotFound', async () => {
      const k = `tmp/contract/${randomUUID()}`;
      const data = randomBytes(70_000);
      await store.put(k, streamOf(data), data.length);
      expect((await drain(await store.read(k))).equals(data)).toBe(true);
      await store.delete(k);
      await store.delete(k);
      await expect(store.read(k)).rejects.toBeInstanceOf(BlobNotFound);
    });

    it('lists unfinished uploads and scratch objects older than the cutoff, not finished objects', async () => {
      const small = key();
      const large = key();
      const done = key();
      const scratch = `tmp/contract/${randomUUID()}`;
      const a = await uploadParts(store, small, randomBytes(1000), MiB);
      const b = await uploadParts(store, large, randomBytes(1000), 5 * MiB);
      const c = await uploadParts(store, done, randomBytes(1000), MiB);
      await store.completeUpload(done, c.handle, c.parts);
      await store.put(scratch, streamOf(randomBytes(10)), 10);

      const listed = async (before: Date) => {
        const found = [];
        for await (const s of store.listStale(before)) found.push(s);
        return found;
      };
      const future = await listed(new Date(Date.now() + 60_000));
      expect(future).toEqual(
        expect.arrayContaining([
          { kind: 'upload', key: small, handle: a.handle },
          { kind: 'upload', key: large, handle: b.handle },
          { kind: 'object', key: scratch },
        ]),
      );
      expect(future.some((s) => s.key === done)).toBe(false);
      const past = await listed(new Date(Date.now() - 60_000));
      expect(past.some((s) => [small, large, scratch].includes(s.key))).toBe(false);

      await store.abortUpload(small, a.handle);
      await store.abortUpload(large, b.handle);
      await store.delete(scratch);
      const after = await listed(new Date(Date.now() + 60_000));
      expect(after.some((s) => [small, large, scratch].includes(s.key))).toBe(false);
    });

    it('gives a presigned URL that serves the bytes and ranges, or none when it serves bytes itself', async () => {
      const k = key();
      const data = randomBytes(50_000);
      const { handle, parts } = await uploadParts(store, k, data, MiB);
      await store.completeUpload(k, handle, parts);
      const url = await store.presignGet(k, {
        expiresSeconds: 60,
        contentDisposition: 'attachment; filename="a.bin"',
        contentType: 'application/octet-stream',
      });
      if (store.kind === 'fs') {
        expect(url).toBeUndefined();
        return;
      }
      expect(url).toMatch(/^https?:\/\//);
      const whole = await fetch(url!);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('content-disposition')).toBe('attachment; filename="a.bin"');
      expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
      const part = await fetch(url!, { headers: { range: 'bytes=100-199' } });
      expect(part.status).toBe(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
    });
  });
}
