/**
 * Upload claims left behind by a crash are void at once: a chunk (or tus PATCH) whose process died
 * mid-body is taken by the retry immediately, not after a lease of minutes. Claims of live
 * processes still hold.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { freshDatabase, startInstance, startOn, type TestInstance } from '../support/harness.ts';
import { spawnChat4all, freePort, type ChildInstance } from '../support/process.ts';
import { storeKinds } from '../support/stores.ts';
import { expectProblem } from '../support/factories.ts';

const MiB = 1024 * 1024;
// Two process starts (one a child process) on a shared, busy machine.
const CRASH_TEST_MS = 150_000;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const octets = { 'content-type': 'application/octet-stream' };
const tus = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', ...extra });

/** Sends `headers` and the first `sent` bytes of a body announced as `length` bytes, then leaves the request hanging. */
function startBody(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string | number>,
  bytes: Buffer,
  sent: number,
): Promise<http.ClientRequest> {
  const req = http.request({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'content-length': bytes.length } });
  req.on('error', () => undefined); // the server is killed under it
  return new Promise((resolve) => req.write(bytes.subarray(0, sent), () => resolve(req)));
}

async function post(url: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (res.headers.get('content-type')?.includes('json') ? await res.json() : {}) as Record<string, string>,
  };
}

describe.each(storeKinds())('upload claims after a crash on %s', (kind) => {
  let child: ChildInstance | undefined;
  let c4: TestInstance | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await child?.kill().catch(() => undefined);
    await c4?.close();
    await drop?.();
    child = c4 = drop = undefined;
  });

  /** A real process on a fresh database, with a signed-in user; kill it and start another on the same data. */
  async function crashingServer() {
    const db = await freshDatabase(kind);
    drop = db.drop;
    const port = await freePort();
    child = await spawnChat4all(['start'], { ...db.env, REGISTRATION: 'open', RATE_LIMIT_ENABLED: 'false', ENVIRONMENT: 'test' }, port);
    const username = `crash_${randomUUID().slice(0, 8)}`;
    expect((await post(`${child.url}/auth/register`, { username, password: 'password123' })).status).toBe(201);
    const token = (await post(`${child.url}/auth/token`, { username, password: 'password123' })).body.access_token;
    const restart = async () => {
      await child?.kill();
      child = undefined;
      c4 = await startOn(kind, db);
      return c4;
    };
    return { url: child.url, port, token, restart };
  }

  it('accepts a chunk again at once after the process storing it was killed mid-body, and completes', { timeout: CRASH_TEST_MS }, async () => {
    const server = await crashingServer();
    const data = randomBytes(2 * MiB);
    const init = await post(
      `${server.url}/v1/files/initiate`,
      { filename: 'crash.bin', file_size: data.length, chunk_size: MiB, checksum_sha256: sha(data) },
      server.token,
    );
    const id = init.body.upload_id;
    const chunk1 = data.subarray(0, MiB);
    await startBody(server.port, 'POST', `/v1/files/${id}/chunks?chunk_number=1`, { authorization: `Bearer ${server.token}`, ...octets }, chunk1, 300_000);
    await new Promise((r) => setTimeout(r, 1000)); // the server claims the chunk and streams what came

    const after = await server.restart();
    // The killed process left its claim behind: the situation a retry used to wait 15 minutes on.
    expect(await after.query('SELECT chunk_number FROM upload_chunks WHERE upload_id = $1 AND part_token IS NULL', [id])).toEqual([{ chunk_number: 1 }]);
    const retried = await after.request('POST', `/v1/files/${id}/chunks?chunk_number=1`, { token: server.token, body: chunk1, headers: octets });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(
      (await after.request('POST', `/v1/files/${id}/chunks?chunk_number=2`, { token: server.token, body: data.subarray(MiB), headers: octets })).status,
    ).toBe(200);
    const done = await after.request('POST', `/v1/files/${id}/complete`, { token: server.token, body: {} });
    expect(done.body).toMatchObject({ status: 'completed', file_id: id });
    expect((await after.request('GET', `/v1/files/${id}`, { token: server.token })).body.sha256).toBe(sha(data));
  });

  it('lets a tus PATCH continue at once after the process holding the upload lock was killed mid-body', { timeout: CRASH_TEST_MS }, async () => {
    const server = await crashingServer();
    const data = randomBytes(300_000);
    const created = await fetch(`${server.url}/v1/tus/`, { method: 'POST', headers: tus(server.token, { 'upload-length': String(data.length) }) });
    expect(created.status).toBe(201);
    const path = new URL(String(created.headers.get('location')), server.url).pathname;
    const id = path.split('/').pop() ?? '';
    await startBody(server.port, 'PATCH', path, tus(server.token, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }), data, 100_000);
    await new Promise((r) => setTimeout(r, 1000));

    const after = await server.restart();
    expect((await after.query('SELECT tus_lock IS NOT NULL AS locked, tus_offset FROM uploads WHERE id = $1', [id]))[0]).toEqual({
      locked: true,
      tus_offset: 0,
    });
    const head = await after.server.inject({ method: 'HEAD', url: path, headers: tus(server.token) });
    expect(head.headers['upload-offset']).toBe('0');
    const patched = await after.server.inject({
      method: 'PATCH',
      url: path,
      payload: data,
      headers: tus(server.token, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }),
    });
    expect(patched.statusCode, patched.body).toBe(204);
    expect((await after.request('GET', `/v1/files/${id}`, { token: server.token })).body).toMatchObject({
      file_id: id,
      size_bytes: data.length,
      sha256: sha(data),
    });
  });
});

describe.each(storeKinds())('who holds an upload claim on %s', (kind) => {
  let c4: TestInstance;
  let token: string;
  beforeAll(async () => {
    c4 = await startInstance(kind);
    token = (await c4.user('claims')).token;
  });
  afterAll(async () => c4?.close());

  const liveElsewhere = async (heartbeatAgo = '0 seconds') => {
    const id = randomUUID();
    await c4.query(`INSERT INTO instances (id, hostname, pid, process_started_at, heartbeat_at) VALUES ($1, 'another-host', 1, now(), now() - $2::interval)`, [
      id,
      heartbeatAgo,
    ]);
    return id;
  };
  /** An upload whose chunk 1 is claimed by `owner`, last renewed `claimedAgo`. */
  async function claimedBy(owner: string, claimedAgo = '0 seconds') {
    const init = await c4.request('POST', '/v1/files/initiate', { token, body: { filename: 'c.bin', file_size: MiB, chunk_size: MiB } });
    const id = init.body.upload_id as string;
    await c4.query(
      `INSERT INTO upload_chunks (upload_id, chunk_number, size_bytes, claim_id, claim_owner, claimed_at) VALUES ($1, 1, $2, $3, $4, now() - $5::interval)`,
      [id, MiB, randomUUID(), owner, claimedAgo],
    );
    return id;
  }
  const put = (id: string) => c4.request('POST', `/v1/files/${id}/chunks?chunk_number=1`, { token, body: randomBytes(MiB), headers: octets });

  it('refuses a chunk another live process is storing (409 chunk-in-progress)', async () => {
    const id = await claimedBy(await liveElsewhere());
    expectProblem(await put(id), 409, 'chunk-in-progress');
  });

  it('takes over the claim of a process that is gone: no row, or no heartbeat for the lease', async () => {
    expect((await put(await claimedBy(randomUUID()))).status).toBe(200);
    expect((await put(await claimedBy(await liveElsewhere('11 seconds')))).status).toBe(200);
  });

  it('takes over a claim that made no progress for 30 s although its process lives', async () => {
    const owner = await liveElsewhere();
    expectProblem(await put(await claimedBy(owner, '25 seconds')), 409, 'chunk-in-progress');
    expect((await put(await claimedBy(owner, '31 seconds'))).status).toBe(200);
  });

  it('keeps the tus lock of a live process and takes over one of a process that is gone', async () => {
    const create = async (owner: string) => {
      const created = await c4.server.inject({ method: 'POST', url: '/v1/tus/', headers: tus(token, { 'upload-length': '1000' }) });
      const path = new URL(String(created.headers.location), 'http://x').pathname;
      await c4.query('UPDATE uploads SET tus_lock = $2, tus_lock_owner = $3, tus_locked_at = now() WHERE id = $1', [
        path.split('/').pop(),
        randomUUID(),
        owner,
      ]);
      return path;
    };
    const patch = (path: string) =>
      c4.server.inject({
        method: 'PATCH',
        url: path,
        payload: randomBytes(1000),
        headers: tus(token, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }),
      });
    const held = await patch(await create(await liveElsewhere()));
    expect({ status: held.statusCode, code: JSON.parse(held.body).code }).toEqual({ status: 409, code: 'upload-locked' });
    expect((await patch(await create(randomUUID()))).statusCode).toBe(204);
  });
});
