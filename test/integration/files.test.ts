/**
 * Files end to end: resumable uploads through the chunk API and tus, downloads, file messages and
 * the garbage collector, on PGlite and PostgreSQL with files on disk, and on S3 when a server is
 * configured (S3_ENDPOINT …, see test/support/s3.ts).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http, { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tus from 'tus-js-client';
import { eventually, startInstance, TestSocket, uuid, type TestInstance } from '../support/harness.ts';
import { storeKinds, type StoreKind } from '../support/stores.ts';
import { expectProblem, privateConversation, type TestUser } from '../support/factories.ts';
import { emptyPrefix, listPrefix, testS3, type TestS3 } from '../support/s3.ts';
import { UploadGcWorker } from '../../src/workers/upload-gc.ts';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
// A whole 1×1 PNG: file-type reads its chunks, so a bare signature followed by noise is not enough.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

type Case = { store: StoreKind; blobs: 'fs' | 's3'; s3?: TestS3 };
const s3 = testS3('files suite');
const cases: Case[] = [
  ...storeKinds().map((store) => ({ store, blobs: 'fs' as const })),
  ...(s3 ? [{ store: 'pglite' as const, blobs: 's3' as const, s3 }] : []),
];

describe.each(cases)('files on $store with $blobs blobs', ({ store, blobs, s3 }) => {
  let c4: TestInstance;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  beforeAll(async () => {
    c4 = await startInstance(store, s3?.env ?? {});
    [alice, bob, carol] = [await c4.user('alice'), await c4.user('bob'), await c4.user('carol')];
  });
  afterAll(async () => {
    await c4?.close();
    if (s3) await emptyPrefix(s3);
  });

  const initiate = (token: string, body: object) => c4.request('POST', '/v1/files/initiate', { token, body });
  const putChunk = (token: string, id: string, n: number, bytes: Buffer, query = '', headers: Record<string, string> = {}) =>
    c4.request('POST', `/v1/files/${id}/chunks?chunk_number=${n}${query}`, {
      token,
      body: bytes,
      headers: { 'content-type': 'application/octet-stream', ...headers },
    });
  const chunkOf = (data: Buffer, size: number, n: number) => data.subarray((n - 1) * size, n * size);

  /** Initiates, sends every chunk (in the given order, all at once) and completes. */
  async function upload(token: string, data: Buffer, options: { chunkSize?: number; mime?: string; filename?: string; order?: 'reverse' } = {}) {
    const chunkSize = options.chunkSize ?? MiB;
    const init = await initiate(token, {
      filename: options.filename ?? 'data.bin',
      file_size: data.length,
      mime_type: options.mime ?? 'application/octet-stream',
      chunk_size: chunkSize,
      checksum_sha256: sha(data),
    });
    expect(init.status, JSON.stringify(init.body)).toBe(201);
    const numbers = Array.from({ length: init.body.total_chunks }, (_, i) => i + 1);
    if (options.order === 'reverse') numbers.reverse();
    const replies = await Promise.all(numbers.map((n) => putChunk(token, init.body.upload_id, n, chunkOf(data, chunkSize, n))));
    for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const done = await c4.request('POST', `/v1/files/${init.body.upload_id}/complete`, { token, body: {} });
    return { id: init.body.upload_id as string, init, done };
  }

  /** GET …/download; on S3 the 302 is followed to the presigned URL, as a browser would. */
  async function download(token: string, id: string, headers: Record<string, string> = {}) {
    const res = await c4.server.inject({ method: 'GET', url: `/v1/files/${id}/download`, headers: { authorization: `Bearer ${token}`, ...headers } });
    if (res.statusCode !== 302) return { status: res.statusCode, headers: res.headers as Record<string, unknown>, bytes: res.rawPayload, redirected: false };
    const followed = await fetch(String(res.headers.location), { headers });
    return {
      status: followed.status,
      headers: Object.fromEntries(followed.headers) as Record<string, unknown>,
      bytes: Buffer.from(await followed.arrayBuffer()),
      redirected: true,
    };
  }

  it('uploads a few MiB in 1 MiB chunks sent out of order and in parallel, and serves the same bytes', async () => {
    const data = randomBytes(3 * MiB + 123_456);
    const { id, init, done } = await upload(alice.token, data, { order: 'reverse' });
    expect(init.body).toMatchObject({ upload_id: id, total_chunks: 4, chunk_size: MiB, expires_at: expect.any(String) });
    expect(done.status, JSON.stringify(done.body)).toBe(202);
    expect(done.body).toEqual({ upload_id: id, status: 'completed', file_id: id });

    const status = await c4.request('GET', `/v1/files/${id}/status`, { token: alice.token });
    expect(status.body).toMatchObject({
      status: 'completed',
      uploaded_chunks: 4,
      total_chunks: 4,
      percentage: 100,
      missing_chunks: [],
      file_id: id,
      download_url: `/v1/files/${id}/download`,
      error: null,
    });
    const meta = await c4.request('GET', `/v1/files/${id}`, { token: alice.token });
    expect(meta.body).toEqual({
      file_id: id,
      filename: 'data.bin',
      size_bytes: data.length,
      mime_type: 'application/octet-stream',
      sha256: sha(data),
      uploader_id: alice.id,
      created_at: expect.any(String),
    });
    const got = await download(alice.token, id);
    expect(got.status).toBe(200);
    expect(got.redirected).toBe(blobs === 's3');
    expect(sha(got.bytes)).toBe(sha(data));
    expect(String(got.headers['content-disposition'])).toBe(`attachment; filename="data.bin"; filename*=UTF-8''data.bin`);
  });

  it('uses 5 MiB chunks as multipart parts and reports progress chunk by chunk', async () => {
    const data = randomBytes(11 * MiB);
    const init = await initiate(alice.token, { filename: 'big.bin', file_size: data.length, chunk_size: 5 * MiB });
    expect(init.body.total_chunks).toBe(3);
    const id = init.body.upload_id;
    const second = await putChunk(alice.token, id, 2, chunkOf(data, 5 * MiB, 2));
    expect(second.body).toEqual({ upload_id: id, chunk_number: 2, uploaded_chunks: 1, total_chunks: 3, percentage: 33.33 });
    const status = await c4.request('GET', `/v1/files/${id}/status`, { token: alice.token });
    expect(status.body).toMatchObject({
      status: 'uploading',
      uploaded_chunks: 1,
      missing_chunks: [1, 3],
      percentage: 33.33,
      file_id: null,
      download_url: null,
    });
    // The PATCH form of the same operation.
    const third = await c4.request('PATCH', `/v1/files/upload/${id}/3`, {
      token: alice.token,
      body: chunkOf(data, 5 * MiB, 3),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(third.body.uploaded_chunks).toBe(2);
    expect((await putChunk(alice.token, id, 1, chunkOf(data, 5 * MiB, 1))).body.percentage).toBe(100);
    const done = await c4.request('POST', `/v1/files/${id}/complete`, { token: alice.token, body: { checksum_sha256: sha(data) } });
    expect(done.body.status).toBe('completed');
    expect(sha((await download(alice.token, id)).bytes)).toBe(sha(data));
  });

  it('serves byte ranges (206 with Content-Range) and refuses unsatisfiable ones', async () => {
    const data = randomBytes(2 * MiB + 10);
    const { id } = await upload(alice.token, data);
    const middle = await download(alice.token, id, { range: 'bytes=1048570-1048579' });
    expect(middle.status).toBe(206);
    expect(middle.headers['content-range']).toBe(`bytes 1048570-1048579/${data.length}`);
    expect(middle.bytes.equals(data.subarray(1_048_570, 1_048_580))).toBe(true);
    const suffix = await download(alice.token, id, { range: 'bytes=-10' });
    expect(suffix.status).toBe(206);
    expect(suffix.bytes.equals(data.subarray(data.length - 10))).toBe(true);
    const beyond = await download(alice.token, id, { range: `bytes=${data.length}-` });
    expect(beyond.status).toBe(416);
  });

  it('refuses bad declarations: too large (413), chunk sizes outside 1..64 MiB, bad types', async () => {
    expectProblem(await initiate(alice.token, { filename: 'huge.iso', file_size: 3 * 1024 ** 3 }), 413, 'file-too-large');
    expectProblem(await initiate(alice.token, { filename: 'a', file_size: 10, chunk_size: MiB - 1 }), 400, 'invalid-chunk-size');
    expectProblem(await initiate(alice.token, { filename: 'a', file_size: 10, chunk_size: 64 * MiB + 1 }), 400, 'invalid-chunk-size');
    expectProblem(await initiate(alice.token, { filename: 'a', file_size: 10, mime_type: 'not a type' }), 400, 'invalid-mime-type');
    expectProblem(await initiate(alice.token, { filename: 'a', file_size: 0 }), 400, 'validation-failed');
    expectProblem(await initiate(alice.token, { filename: 'a', file_size: 10, conversation_id: 999_999 }), 404, 'conversation-not-found');
    expectProblem(await c4.request('POST', '/v1/files/initiate', { body: { filename: 'a', file_size: 10 } }), 401, 'missing-token');
  });

  it('refuses bad chunks and stores nothing for them: range, size, duplicates, checksums, other users', async () => {
    const data = randomBytes(2 * MiB + 5);
    const init = await initiate(alice.token, { filename: 'c.bin', file_size: data.length, chunk_size: MiB });
    const id = init.body.upload_id;
    expectProblem(await putChunk(alice.token, id, 0, chunkOf(data, MiB, 1)), 400, 'chunk-out-of-range');
    expectProblem(await putChunk(alice.token, id, 4, chunkOf(data, MiB, 1)), 400, 'chunk-out-of-range');
    expectProblem(await putChunk(alice.token, id, 1, data.subarray(0, MiB - 1)), 400, 'chunk-size-mismatch');
    expectProblem(await putChunk(alice.token, id, 3, data.subarray(0, 6)), 400, 'chunk-size-mismatch');
    expectProblem(await putChunk(alice.token, id, 1, chunkOf(data, MiB, 1), `&checksum_sha256=${'0'.repeat(64)}`), 400, 'checksum-mismatch');
    const wrongHeader = `sha256 ${createHash('sha256').update('other').digest('base64')}`;
    expectProblem(await putChunk(alice.token, id, 1, chunkOf(data, MiB, 1), '', { 'upload-checksum': wrongHeader }), 400, 'checksum-mismatch');
    expectProblem(await putChunk(alice.token, id, 1, chunkOf(data, MiB, 1), '', { 'upload-checksum': 'md5 AAAA' }), 400, 'unsupported-checksum-algorithm');
    expectProblem(await putChunk(bob.token, id, 1, chunkOf(data, MiB, 1)), 404, 'upload-not-found');
    expectProblem(await c4.request('GET', `/v1/files/${id}/status`, { token: bob.token }), 404, 'upload-not-found');
    expectProblem(await c4.request('POST', `/v1/files/${id}/complete`, { token: bob.token, body: {} }), 404, 'upload-not-found');
    expect((await c4.request('GET', `/v1/files/${id}/status`, { token: alice.token })).body).toMatchObject({
      status: 'pending',
      uploaded_chunks: 0,
      missing_chunks: [1, 2, 3],
    });

    const good = chunkOf(data, MiB, 1);
    const stored = await putChunk(alice.token, id, 1, good, `&checksum_sha256=${sha(good)}`, {
      'upload-checksum': `sha256 ${createHash('sha256').update(good).digest('base64')}`,
    });
    expect(stored.status).toBe(200);
    expectProblem(await putChunk(alice.token, id, 1, good), 409, 'chunk-already-uploaded');
    const incomplete = expectProblem(await c4.request('POST', `/v1/files/${id}/complete`, { token: alice.token, body: {} }), 400, 'upload-incomplete');
    expect(incomplete.missing_chunks).toEqual([2, 3]);
  });

  it('takes a chunk again after its first request broke off midway', async () => {
    const data = randomBytes(MiB);
    const init = await initiate(alice.token, { filename: 'flaky.bin', file_size: data.length });
    const id = init.body.upload_id;
    const port = new URL(c4.wsUrl('x').replace(/^ws/, 'http')).port;
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/v1/files/${id}/chunks?chunk_number=1`,
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream', 'content-length': data.length },
      });
      req.on('error', () => resolve());
      req.write(data.subarray(0, 200_000), () => setTimeout(() => req.destroy(), 100));
    });
    const stored = await eventually(async () => {
      const r = await putChunk(alice.token, id, 1, data);
      return r.status === 200 && r;
    });
    expect(stored.body.uploaded_chunks).toBe(1);
    expect((await c4.request('POST', `/v1/files/${id}/complete`, { token: alice.token, body: { checksum_sha256: sha(data) } })).body.status).toBe('completed');
  });

  it('stores one copy when the same chunk is sent twice at once', async () => {
    const data = randomBytes(MiB);
    const init = await initiate(alice.token, { filename: 'race.bin', file_size: data.length });
    const replies = await Promise.all([1, 2, 3].map(() => putChunk(alice.token, init.body.upload_id, 1, data)));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of replies.filter((x) => x.status !== 200)) expect(['chunk-already-uploaded', 'chunk-in-progress']).toContain(r.body.code);
    const done = await c4.request('POST', `/v1/files/${init.body.upload_id}/complete`, { token: alice.token, body: {} });
    expect(done.body.status).toBe('completed');
  });

  it('fails an upload whose whole-file SHA-256 differs (422), and says so again on every completion', async () => {
    const data = randomBytes(MiB + 1);
    const init = await initiate(alice.token, { filename: 'x.bin', file_size: data.length, chunk_size: MiB, checksum_sha256: 'a'.repeat(64) });
    const id = init.body.upload_id;
    await putChunk(alice.token, id, 1, chunkOf(data, MiB, 1));
    await putChunk(alice.token, id, 2, chunkOf(data, MiB, 2));
    expectProblem(await c4.request('POST', `/v1/files/${id}/complete`, { token: alice.token, body: {} }), 422, 'checksum-mismatch');
    expectProblem(await c4.request('POST', `/v1/files/${id}/complete`, { token: alice.token, body: {} }), 422, 'checksum-mismatch');
    expect((await c4.request('GET', `/v1/files/${id}/status`, { token: alice.token })).body).toMatchObject({
      status: 'failed',
      error: { code: 'checksum-mismatch' },
      file_id: null,
    });
    expectProblem(await c4.request('GET', `/v1/files/${id}`, { token: alice.token }), 404, 'file-not-found');
    expectProblem(await putChunk(alice.token, id, 1, chunkOf(data, MiB, 1)), 409, 'upload-not-accepting-chunks');
  });

  it('completes once when completion is asked twice at the same time, and answers the same afterwards', async () => {
    const data = randomBytes(2 * MiB);
    const init = await initiate(alice.token, { filename: 'twice.bin', file_size: data.length, chunk_size: MiB });
    const id = init.body.upload_id;
    await Promise.all([1, 2].map((n) => putChunk(alice.token, id, n, chunkOf(data, MiB, n))));
    const [a, b] = await Promise.all([0, 1].map(() => c4.request('POST', `/v1/files/${id}/complete`, { token: alice.token, body: {} })));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body).toEqual({ upload_id: id, status: 'completed', file_id: id });
    expect(b.body).toEqual(a.body);
    expect((await c4.request('POST', `/v1/files/${id}/complete`, { token: alice.token })).body).toEqual(a.body);
  });

  it('fails an upload whose content contradicts its declared type (content-type-mismatch)', async () => {
    const text = Buffer.from('just some text, not an image at all\n'.repeat(100));
    const { id, done } = await upload(alice.token, text, { mime: 'image/png', filename: 'fake.png' });
    expect(done.status).toBe(202);
    expect(done.body).toMatchObject({ upload_id: id, status: 'failed', file_id: null, error: { code: 'content-type-mismatch' } });
    expect((await c4.request('GET', `/v1/files/${id}/status`, { token: alice.token })).body.error.code).toBe('content-type-mismatch');
    expect((await download(alice.token, id)).status).toBe(404);

    const png = Buffer.concat([PNG, randomBytes(1000)]);
    const real = await upload(alice.token, png, { mime: 'image/png', filename: 'real.png' });
    expect(real.done.body.status).toBe('completed');
    const sniffed = await upload(alice.token, png, { filename: 'unknown' });
    expect((await c4.request('GET', `/v1/files/${sniffed.id}`, { token: alice.token })).body.mime_type).toBe('image/png');
  });

  it('completes an upload whose complete call has Content-Type: application/json and an empty body', async () => {
    // What the reference Python upload client sends as its last step.
    const data = randomBytes(2 * MiB + 10);
    const init = await initiate(alice.token, { filename: 'empty-complete.bin', file_size: data.length, chunk_size: MiB });
    for (let n = 1; n <= 3; n++) expect((await putChunk(alice.token, init.body.upload_id, n, chunkOf(data, MiB, n))).status).toBe(200);
    const done = await c4.request('POST', `/v1/files/${init.body.upload_id}/complete`, {
      token: alice.token,
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(202);
    expect(done.body).toEqual({ upload_id: init.body.upload_id, status: 'completed', file_id: init.body.upload_id });
    expect((await download(alice.token, init.body.upload_id)).bytes.equals(data)).toBe(true);
  });

  it('keeps hostile filenames as display text only, never as storage paths', async () => {
    // NUL is not text and is refused at the edge (400 invalid-text, test/integration/bad-input.test.ts).
    const names = ['../../etc/passwd', 'a/b\\c.txt', 'tab\u0009and\u0007bell\u202eexe.txt', 'é'.repeat(10_000)];
    for (const filename of names) {
      const { id, done } = await upload(alice.token, Buffer.from('hello'), { filename, mime: 'text/plain' });
      expect(done.body.status).toBe('completed');
      const meta = await c4.request('GET', `/v1/files/${id}`, { token: alice.token });
      expect(Array.from(meta.body.filename as string).some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\u202e')).toBe(false);
      expect(Array.from(meta.body.filename as string).length).toBeLessThanOrEqual(255);
      const got = await download(alice.token, id);
      expect(got.bytes.toString()).toBe('hello');
      expect(String(got.headers['content-disposition'])).toMatch(/^attachment; filename="[^"/\\]*"; filename\*=UTF-8''/);
    }
    expect(
      (await c4.request('GET', `/v1/files/${(await upload(alice.token, Buffer.from('x'), { filename: '../../etc/passwd' })).id}`, { token: alice.token })).body
        .filename,
    ).toBe('../../etc/passwd');
    if (blobs === 'fs') {
      const objects = await readdir(path.join(c4.env.DATA_DIR, 'blobs', 'objects'), { recursive: true });
      expect(objects.every((p) => /^files(\/[0-9a-f-]{36})?$/.test(p))).toBe(true);
    }
  });

  it('lets members of a conversation where a message shared the file download it, and nobody else', async () => {
    const data = Buffer.concat([PNG, randomBytes(2000)]);
    const { id } = await upload(alice.token, data, { mime: 'image/png', filename: 'holiday.png' });
    const conversationId = await privateConversation(c4, alice, bob);
    expectProblem(await c4.request('GET', `/v1/files/${id}`, { token: bob.token }), 404, 'file-not-found');
    expect((await download(bob.token, id)).status).toBe(404);

    const bobWs = await TestSocket.connect(c4.wsUrl(bob.token));
    await bobWs.next((f) => f.type === 'connected');
    const messageId = uuid();
    const sent = await c4.request('POST', '/v1/messages', {
      token: alice.token,
      body: { message_id: messageId, conversation_id: conversationId, payload: { type: 'file', file_id: id } },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    const payload = { type: 'file', file_id: id, filename: 'holiday.png', size_bytes: data.length, mime_type: 'image/png' };
    expect((await bobWs.next((f) => f.type === 'message.created' && f.message_id === messageId)).payload).toEqual(payload);
    bobWs.close();
    const history = await c4.request('GET', `/v1/conversations/${conversationId}/messages`, { token: bob.token });
    expect(history.body.messages[0].payload).toEqual(payload);
    const list = await c4.request('GET', '/v1/conversations', { token: bob.token });
    expect(list.body.items.find((c: { conversation_id: number }) => c.conversation_id === conversationId).last_message_content).toBe('[File] holiday.png');

    expect(sha((await download(bob.token, id)).bytes)).toBe(sha(data));
    expect((await c4.request('GET', `/v1/files/${id}`, { token: bob.token })).body.file_id).toBe(id);
    expectProblem(await c4.request('GET', `/v1/files/${id}`, { token: carol.token }), 404, 'file-not-found');
    expect((await download(carol.token, id)).status).toBe(404);
    // Carol may not share a file she cannot see; Bob may pass it on to a conversation of his.
    const carolConv = await privateConversation(c4, carol, bob);
    const stolen = await c4.request('POST', '/v1/messages', {
      token: carol.token,
      body: { message_id: uuid(), conversation_id: carolConv, payload: { type: 'file', file_id: id } },
    });
    expectProblem(stolen, 400, 'file-not-found');
    const forwarded = await c4.request('POST', '/v1/messages', {
      token: bob.token,
      body: { message_id: uuid(), conversation_id: carolConv, payload: { type: 'file', file_id: id } },
    });
    expect(forwarded.status).toBe(202);
    expect((await download(carol.token, id)).status).toBe(200);
  });

  describe('tus', () => {
    const tusHeaders = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', ...extra });
    const meta = (pairs: Record<string, string>) =>
      Object.entries(pairs)
        .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
        .join(',');
    const endpoint = () =>
      `${c4
        .wsUrl('x')
        .replace(/^ws/, 'http')
        .replace(/\/ws\?.*$/, '')}/v1/tus/`;

    it('advertises the protocol and refuses other versions with 412', async () => {
      const options = await c4.server.inject({ method: 'OPTIONS', url: '/v1/tus/' });
      expect(options.statusCode).toBe(204);
      expect(options.headers).toMatchObject({
        'tus-version': '1.0.0',
        'tus-extension': 'creation,creation-with-upload,termination,expiration,checksum',
        'tus-checksum-algorithm': 'sha256',
        'tus-max-size': String(2 * 1024 ** 3),
      });
      const old = await c4.server.inject({
        method: 'POST',
        url: '/v1/tus/',
        headers: { authorization: `Bearer ${alice.token}`, 'tus-resumable': '0.2.2', 'upload-length': '10' },
      });
      expect(old.statusCode).toBe(412);
      expect(old.headers['tus-version']).toBe('1.0.0');
      const anonymous = await c4.server.inject({ method: 'POST', url: '/v1/tus/', headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' } });
      expect(anonymous.statusCode).toBe(401);
      const tooBig = await c4.server.inject({ method: 'POST', url: '/v1/tus/', headers: tusHeaders(alice.token, { 'upload-length': String(3 * 1024 ** 3) }) });
      expect(tooBig.statusCode).toBe(413);
    });

    it('uploads with tus-js-client in pieces that do not align with chunks, resumes, and makes a file', async () => {
      const data = randomBytes(10 * MiB + 777);
      let uploadUrl = '';
      // First attempt: stop after the first 3 MiB piece, as a dropped connection would.
      await new Promise<void>((resolve, reject) => {
        const first: tus.Upload = new tus.Upload(data, {
          endpoint: endpoint(),
          headers: { Authorization: `Bearer ${alice.token}` },
          chunkSize: 3 * MiB,
          retryDelays: [],
          metadata: { filename: 'video.bin', filetype: 'application/octet-stream' },
          onChunkComplete: () => {
            uploadUrl = first.url ?? '';
            first.abort().then(() => resolve(), reject);
          },
          onError: reject,
        });
        first.start();
      });
      const id = uploadUrl.split('/').pop()!;
      const head = await c4.server.inject({ method: 'HEAD', url: `/v1/tus/${id}`, headers: tusHeaders(alice.token) });
      expect(head.headers['upload-offset']).toBe(String(3 * MiB));
      expect(head.headers['upload-length']).toBe(String(data.length));
      expect(head.headers['upload-expires']).toBeDefined();

      await new Promise<void>((resolve, reject) => {
        const second = new tus.Upload(data, {
          uploadUrl,
          headers: { Authorization: `Bearer ${alice.token}` },
          chunkSize: 3 * MiB,
          retryDelays: [],
          onSuccess: () => resolve(),
          onError: reject,
        });
        second.start();
      });
      const file = await c4.request('GET', `/v1/files/${id}`, { token: alice.token });
      expect(file.body).toMatchObject({ file_id: id, filename: 'video.bin', size_bytes: data.length, sha256: sha(data) });
      expect(sha((await download(alice.token, id)).bytes)).toBe(sha(data));
      // Every scratch segment went into a chunk and was removed.
      const [row] = await c4.app.db.query('SELECT tus_segments FROM uploads WHERE id = $1', [id]);
      expect(row.tus_segments).toEqual([]);
    });

    it('creates with an upload, checks Upload-Checksum (460, nothing kept), offsets (409) and terminates', async () => {
      const data = randomBytes(300_000);
      const created = await c4.server.inject({
        method: 'POST',
        url: '/v1/tus/',
        payload: data.subarray(0, 100_000),
        headers: tusHeaders(alice.token, {
          'upload-length': String(data.length),
          'upload-metadata': meta({ filename: 'notes.bin' }),
          'content-type': 'application/offset+octet-stream',
        }),
      });
      expect(created.statusCode).toBe(201);
      expect(created.headers['upload-offset']).toBe('100000');
      expect(created.headers['tus-resumable']).toBe('1.0.0');
      const location = String(created.headers.location);
      const id = location.split('/').pop()!;
      const url = `/v1/tus/${id}`;
      const patch = (offset: number, body: Buffer, extra: Record<string, string> = {}) =>
        c4.server.inject({
          method: 'PATCH',
          url,
          payload: body,
          headers: tusHeaders(alice.token, { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', ...extra }),
        });
      const piece = data.subarray(100_000, 200_000);
      const badSum = `sha256 ${createHash('sha256').update('nope').digest('base64')}`;
      expect((await patch(100_000, piece, { 'upload-checksum': badSum })).statusCode).toBe(460);
      expect((await c4.server.inject({ method: 'HEAD', url, headers: tusHeaders(alice.token) })).headers['upload-offset']).toBe('100000');
      expect((await patch(50_000, piece)).statusCode).toBe(409);
      expect((await patch(100_000, piece, { 'content-type': 'application/octet-stream' })).statusCode).toBe(415);
      expect((await patch(100_000, piece, { 'upload-checksum': 'md5 AAAA' })).statusCode).toBe(400);
      const good = await patch(100_000, piece, { 'upload-checksum': `sha256 ${createHash('sha256').update(piece).digest('base64')}` });
      expect(good.statusCode).toBe(204);
      expect(good.headers['upload-offset']).toBe('200000');
      expect((await c4.server.inject({ method: 'HEAD', url, headers: tusHeaders(bob.token) })).statusCode).toBe(404);

      const deleted = await c4.server.inject({ method: 'DELETE', url, headers: tusHeaders(alice.token) });
      expect(deleted.statusCode).toBe(204);
      expect((await c4.server.inject({ method: 'HEAD', url, headers: tusHeaders(alice.token) })).statusCode).toBe(404);
      expect((await patch(200_000, data.subarray(200_000))).statusCode).toBe(404);
    });

    it('keeps tus and chunk uploads apart, takes an empty filetype as none, and forgets expired uploads', async () => {
      const created = await c4.server.inject({
        method: 'POST',
        url: '/v1/tus/',
        headers: tusHeaders(alice.token, { 'upload-length': '2000', 'upload-metadata': `filename ${Buffer.from('a.bin').toString('base64')},filetype ` }),
      });
      expect(created.statusCode).toBe(201);
      const id = String(created.headers.location).split('/').pop()!;
      expectProblem(await putChunk(alice.token, id, 1, randomBytes(2000)), 409, 'upload-protocol-mismatch');
      expect((await c4.request('GET', `/v1/files/${id}/status`, { token: alice.token })).body).toMatchObject({
        upload_id: id,
        status: 'pending',
        total_chunks: 1,
      });
      const chunked = await initiate(alice.token, { filename: 'b.bin', file_size: 10 });
      await c4.app.db.query(`UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`, [[id, chunked.body.upload_id]]);
      expect((await c4.server.inject({ method: 'HEAD', url: `/v1/tus/${id}`, headers: tusHeaders(alice.token) })).statusCode).toBe(404);
      const late = await c4.server.inject({
        method: 'PATCH',
        url: `/v1/tus/${id}`,
        payload: randomBytes(2000),
        headers: tusHeaders(alice.token, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }),
      });
      expect(late.statusCode).toBe(404);
      expectProblem(await putChunk(alice.token, chunked.body.upload_id, 1, randomBytes(10)), 404, 'upload-expired');
    });

    it('finishes a tus upload in one request and refuses bytes past Upload-Length', async () => {
      const data = Buffer.concat([PNG, randomBytes(5000)]);
      const created = await c4.server.inject({
        method: 'POST',
        url: '/v1/tus/',
        headers: tusHeaders(alice.token, {
          'upload-length': String(data.length),
          'upload-metadata': `${meta({ filename: 'p.png', filetype: 'image/png' })},is_confidential`,
        }),
      });
      expect(created.statusCode).toBe(201);
      const url = new URL(String(created.headers.location)).pathname;
      const over = await c4.server.inject({
        method: 'PATCH',
        url,
        payload: Buffer.concat([data, Buffer.from('x')]),
        headers: tusHeaders(alice.token, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }),
      });
      expect(over.statusCode).toBe(413);
      const done = await c4.server.inject({
        method: 'PATCH',
        url,
        payload: data,
        headers: tusHeaders(alice.token, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }),
      });
      expect(done.statusCode).toBe(204);
      expect(done.headers['upload-offset']).toBe(String(data.length));
      const id = url.split('/').pop()!;
      expect((await c4.request('GET', `/v1/files/${id}`, { token: alice.token })).body).toMatchObject({
        filename: 'p.png',
        mime_type: 'image/png',
        sha256: sha(data),
      });
      const head = await c4.server.inject({ method: 'HEAD', url, headers: tusHeaders(alice.token) });
      expect(head.headers['upload-metadata']).toContain('is_confidential');
      expect(head.headers['upload-expires']).toBeUndefined();
    });
  });

  describe('garbage collection', () => {
    /** Moves an upload's creation (and expiry) two days into the past. */
    const age = (id: string) =>
      c4.app.db.query(`UPDATE uploads SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day' WHERE id = $1`, [id]);
    const storedFor = async (id: string): Promise<string[]> => {
      if (blobs === 's3') {
        const { objects, uploads } = await listPrefix(s3!);
        return [...objects, ...uploads].filter((k) => k.includes(id));
      }
      const root = path.join(c4.env.DATA_DIR, 'blobs');
      const found: string[] = [];
      for (const entry of await readdir(root, { recursive: true })) {
        if (entry.includes(id)) found.push(entry);
        else if (entry.endsWith('meta.json') && (await readFile(path.join(root, entry), 'utf8')).includes(id)) found.push(entry);
      }
      return found;
    };

    it('removes an upload not completed in time, with its stored chunks, and keeps completed and recent ones', async () => {
      const data = randomBytes(2 * MiB);
      const expired = await initiate(alice.token, { filename: 'old.bin', file_size: data.length, chunk_size: MiB });
      await putChunk(alice.token, expired.body.upload_id, 1, chunkOf(data, MiB, 1));
      const big = await initiate(alice.token, { filename: 'old-big.bin', file_size: 12 * MiB, chunk_size: 5 * MiB });
      await putChunk(alice.token, big.body.upload_id, 1, randomBytes(5 * MiB));
      const recent = await initiate(alice.token, { filename: 'new.bin', file_size: data.length, chunk_size: MiB });
      const finished = await upload(alice.token, data);
      for (const id of [expired.body.upload_id, big.body.upload_id, finished.id]) await age(id);
      expect(await storedFor(expired.body.upload_id)).not.toEqual([]);

      const summary = await c4.app.files.collector.collect({ retentionHours: 24, batchSize: 1 });
      expect(summary).toMatchObject({ uploads_removed: 2, failures: 0 });
      expect(await storedFor(expired.body.upload_id)).toEqual([]);
      expect(await storedFor(big.body.upload_id)).toEqual([]);
      expectProblem(await c4.request('GET', `/v1/files/${expired.body.upload_id}/status`, { token: alice.token }), 404, 'upload-not-found');
      expect((await c4.request('GET', `/v1/files/${recent.body.upload_id}/status`, { token: alice.token })).status).toBe(200);
      expect(sha((await download(alice.token, finished.id)).bytes)).toBe(sha(data));
      const metrics = await c4.request('GET', '/metrics');
      expect(metrics.body).toMatch(/^uploads_cleaned_total [1-9]/m);
      expect(metrics.body).toMatch(/^cleanup_duration_seconds_count [1-9]/m);
    });

    it('runs by itself in embedded mode', async () => {
      const init = await initiate(alice.token, { filename: 'forgotten.bin', file_size: 10 });
      await age(init.body.upload_id);
      const worker = new UploadGcWorker(c4.app.files.collector, { retentionHours: 24, batchSize: 10 }, c4.app.logger, {
        firstRunMs: 10,
        intervalMs: 50,
      }).start();
      try {
        await eventually(async () => (await c4.request('GET', `/v1/files/${init.body.upload_id}/status`, { token: alice.token })).status === 404);
      } finally {
        await worker.stop();
      }
    });

    it('removes failed uploads and stale tus segments once their time is up', async () => {
      const init = await initiate(alice.token, { filename: 'bad.bin', file_size: MiB + 1, chunk_size: MiB, checksum_sha256: 'b'.repeat(64) });
      const id = init.body.upload_id;
      const data = randomBytes(MiB + 1);
      await putChunk(alice.token, id, 1, chunkOf(data, MiB, 1));
      await putChunk(alice.token, id, 2, chunkOf(data, MiB, 2));
      expect((await c4.request('POST', `/v1/files/${id}/complete`, { token: alice.token, body: {} })).status).toBe(422);
      const created = await c4.server.inject({
        method: 'POST',
        url: '/v1/tus/',
        payload: randomBytes(1000),
        headers: {
          authorization: `Bearer ${alice.token}`,
          'tus-resumable': '1.0.0',
          'upload-length': '5000',
          'content-type': 'application/offset+octet-stream',
        },
      });
      const tusId = String(created.headers.location).split('/').pop()!;
      expect(await storedFor(tusId)).not.toEqual([]);
      await age(id);
      await age(tusId);
      const summary = await c4.app.files.collector.collect({ retentionHours: 24, batchSize: 100 });
      expect(summary.uploads_removed).toBeGreaterThanOrEqual(2);
      expect(await storedFor(tusId)).toEqual([]);
      expect((await c4.app.db.query('SELECT id FROM uploads WHERE id = ANY($1::uuid[])', [[id, tusId]])).length).toBe(0);
    });
  });
});

describe('chat4all gc, as the CronJob runs it', () => {
  let c4: TestInstance;
  let pushed: { url: string; body: string }[] = [];
  let gateway: Server;
  let gatewayStatus = 200;
  beforeAll(async () => {
    c4 = await startInstance('pglite');
    gateway = createServer((request, response) => {
      let body = '';
      request.on('data', (d) => (body += d));
      request.on('end', () => {
        pushed.push({ url: request.url ?? '', body });
        response.writeHead(gatewayStatus).end();
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await c4?.close();
    await new Promise((resolve) => gateway?.close(resolve));
  });

  /** Runs `chat4all gc` on the instance's data (the instance must be stopped: PGlite has one writer). */
  function gc(extraEnv: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const bin = fileURLToPath(new URL('../../bin/chat4all.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'gc'], {
      env: { PATH: process.env.PATH ?? '', ...c4.env, LOG_LEVEL: 'info', PORT: '0', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
  }

  it('removes expired uploads, logs a summary, pushes its metrics and exits 0; exits 1 when it cannot do its work', async () => {
    const alice = await c4.user('alice');
    const init = await c4.request('POST', '/v1/files/initiate', { token: alice.token, body: { filename: 'old.bin', file_size: 2 * MiB, chunk_size: MiB } });
    const put = await c4.request('POST', `/v1/files/${init.body.upload_id}/chunks?chunk_number=1`, {
      token: alice.token,
      body: randomBytes(MiB),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(200);
    await c4.app.db.query(`UPDATE uploads SET created_at = now() - interval '3 days' WHERE id = $1`, [init.body.upload_id]);
    await c4.stop();
    const uploadsDir = path.join(c4.env.DATA_DIR, 'blobs', 'uploads');
    expect(await readdir(uploadsDir)).toHaveLength(1);

    const gateway_url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    const run = await gc({ PUSHGATEWAY_URL: gateway_url });
    expect(run.code, run.output).toBe(0);
    const summary = run.output
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'upload garbage collection finished');
    expect(summary).toMatchObject({ uploads_removed: 1, failures: 0, retention_hours: 24, batch_size: 100 });
    expect(await readdir(uploadsDir)).toHaveLength(0);
    expect(pushed).toHaveLength(1);
    expect(pushed[0].url).toBe('/metrics/job/chat4all_gc');
    expect(pushed[0].body).toMatch(/^uploads_cleaned_total 1$/m);
    expect(pushed[0].body).toMatch(/^# TYPE cleanup_duration_seconds histogram$/m);
    expect(pushed[0].body).toMatch(/^cleanup_duration_seconds_count 1$/m);

    // A database that does not answer: the run fails (exit 1), and still pushes what it measured.
    gatewayStatus = 500;
    pushed = [];
    const failing = await gc({
      PUSHGATEWAY_URL: gateway_url,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      JWT_SECRET_KEY: 'test-secret-key-0123456789abcdef',
    });
    expect(failing.code).toBe(1);
    expect(failing.output).toContain('upload garbage collection failed');
    expect(pushed).toHaveLength(1);
  });
});
