/**
 * Upload benchmark: starts `chat4all start` in its own process (files on disk, then on S3 when
 * S3_ENDPOINT … are set) and, through the chunk API over loopback, measures
 *   1. one large upload (default 1 GiB, 8 MiB chunks, 4 in flight): MB/s from initiate to the
 *      completed answer (assembly, whole-file SHA-256 and type check included), and the server's
 *      RSS before and at its peak;
 *   2. 20 concurrent uploads of 50 MiB each: aggregate MB/s and peak RSS.
 *
 *   npm run bench:upload                              # both stores, 1 GiB
 *   npm run bench:upload -- --store fs --size-mib 2048
 *   eval "$(scripts/services.sh up s3)"; npm run bench:upload -- --store s3
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { freePort, spawnChat4all, type ChildInstance } from '../test/support/process.ts';
import { emptyPrefix, testS3 } from '../test/support/s3.ts';
import { post } from './load.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'all' },
    'size-mib': { type: 'string', default: '1024' },
    'chunk-mib': { type: 'string', default: '8' },
    parallel: { type: 'string', default: '4' },
    concurrent: { type: 'string', default: '20' },
    'concurrent-mib': { type: 'string', default: '50' },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(values['size-mib']) * MiB;
const CHUNK = Number(values['chunk-mib']) * MiB;
const PARALLEL = Number(values.parallel);
const CONCURRENT = Number(values.concurrent);
const CONCURRENT_SIZE = Number(values['concurrent-mib']) * MiB;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
// One random chunk, sent at every position: the client must not be the bottleneck (nor the disk).
const PATTERN = randomBytes(CHUNK);

function rssMib(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function request(url: string, method: string, token: string, body: Buffer, contentType: string): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One upload through the chunk API: seconds from initiate to the completed answer, and of that the completion. */
async function uploadOnce(base: string, token: string, size: number): Promise<{ seconds: number; completeSeconds: number }> {
  const chunk = (n: number) => PATTERN.subarray(0, Math.min(CHUNK, size - (n - 1) * CHUNK));
  const total = Math.ceil(size / CHUNK);
  const whole = createHash('sha256');
  for (let n = 1; n <= total; n++) whole.update(chunk(n));
  const started = performance.now();
  const init = await post(
    `${base}/v1/files/initiate`,
    { filename: 'bench.bin', file_size: size, chunk_size: CHUNK, checksum_sha256: whole.digest('hex') },
    token,
  );
  if (init.status !== 201) throw new Error(`initiate: ${init.status} ${init.body}`);
  const id = JSON.parse(init.body).upload_id as string;
  let next = 1;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, total) }, async () => {
      for (let n = next++; n <= total; n = next++) {
        const res = await request(`${base}/v1/files/${id}/chunks?chunk_number=${n}`, 'POST', token, chunk(n), 'application/octet-stream');
        if (res.status !== 200) throw new Error(`chunk ${n}: ${res.status} ${res.text}`);
      }
    }),
  );
  const completing = performance.now();
  const done = await request(`${base}/v1/files/${id}/complete`, 'POST', token, Buffer.from('{}'), 'application/json');
  if (done.status !== 202 || JSON.parse(done.text).status !== 'completed') throw new Error(`complete: ${done.status} ${done.text}`);
  const now = performance.now();
  return { seconds: (now - started) / 1000, completeSeconds: (now - completing) / 1000 };
}

async function withServer(blobs: 'fs' | 's3', work: (server: ChildInstance) => Promise<void>): Promise<void> {
  const dataDir = `${os.tmpdir()}/chat4all-bench-upload-${randomUUID()}`;
  const s3 = blobs === 's3' ? testS3('upload benchmark') : undefined;
  if (blobs === 's3' && !s3) return;
  const env = { RATE_LIMIT_ENABLED: 'false', DEMO_USERS: 'true', LOG_LEVEL: 'warn', DATA_DIR: dataDir, ...(s3?.env ?? {}) };
  const server = await spawnChat4all(['start'], env, await freePort(), 120_000);
  try {
    await work(server);
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (s3) await emptyPrefix(s3);
  }
}

async function bench(blobs: 'fs' | 's3'): Promise<void> {
  await withServer(blobs, async (server) => {
    const pid = server.child.pid!;
    const token = JSON.parse((await post(`${server.url}/auth/token`, { username: 'user1', password: 'password123' })).body).access_token as string;
    // Warm up (JIT, connections, first storage calls), then let the heap settle.
    await uploadOnce(server.url, token, 2 * CHUNK);
    await new Promise((r) => setTimeout(r, 1000));
    let peak = 0;
    const sample = () => (peak = Math.max(peak, rssMib(pid)));
    const sampler = setInterval(sample, 50);
    try {
      const before = rssMib(pid);
      peak = before;
      const { seconds, completeSeconds } = await uploadOnce(server.url, token, SIZE);
      sample();
      console.log(
        `[${blobs}] one upload of ${SIZE / MiB} MiB (${CHUNK / MiB} MiB chunks, ${PARALLEL} in flight): ${seconds.toFixed(1)} s (complete: ${completeSeconds.toFixed(1)} s), ${(SIZE / MiB / seconds).toFixed(0)} MiB/s; server RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB peak (+${(peak - before).toFixed(0)} MiB)`,
      );

      const beforeMany = rssMib(pid);
      peak = beforeMany;
      const started = performance.now();
      const each = (await Promise.all(Array.from({ length: CONCURRENT }, () => uploadOnce(server.url, token, CONCURRENT_SIZE)))).map((r) => r.seconds);
      const wall = (performance.now() - started) / 1000;
      sample();
      const sorted = each.sort((a, b) => a - b);
      console.log(
        `[${blobs}] ${CONCURRENT} concurrent uploads of ${CONCURRENT_SIZE / MiB} MiB: ${wall.toFixed(1)} s, ${((CONCURRENT * CONCURRENT_SIZE) / MiB / wall).toFixed(0)} MiB/s aggregate; each ${sorted[0].toFixed(1)}–${sorted[sorted.length - 1].toFixed(1)} s; server RSS ${beforeMany.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB peak (+${(peak - beforeMany).toFixed(0)} MiB)`,
      );
    } finally {
      clearInterval(sampler);
    }
  });
}

const stores = values.store === 'all' ? (['fs', 's3'] as const) : [values.store as 'fs' | 's3'];
console.log(`upload benchmark on ${os.cpus().length} cores, Node ${process.version}`);
for (const store of stores) await bench(store);
agent.destroy();
