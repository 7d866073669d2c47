/**
 * Resumable file uploads (CONTRACT.md "Files"): initiate → chunks, a few in parallel, with progress
 * → complete → wait until the file is usable → send it as a message. The upload id and message id
 * live in localStorage: after a reload the user picks the same file again and only the chunks the
 * server reports missing are sent.
 */
import { ApiError, NetworkError, backoff, sleep, uuid } from './http.js';

// The smallest chunk the server accepts: fine-grained progress and cheap retries.
const CHUNK_SIZE = 1024 * 1024;
const PARALLEL = 3;
const CHUNK_ATTEMPTS = 5;
// Whole-file SHA-256 needs the file in memory (SubtleCrypto cannot hash incrementally).
const WHOLE_CHECKSUM_LIMIT = 64 * 1024 * 1024;

export class Uploads {
  #files = new Map();
  #cancelled = new Set();
  /** conversation id → settles when the last file picked there has been queued (or given up) */
  #turns = new Map();
  #records;

  constructor(api, store, outbox, userId) {
    this.api = api;
    this.store = store;
    this.outbox = outbox;
    this.key = `chat4all.uploads.${userId}`;
    try {
      this.#records = JSON.parse(localStorage.getItem(this.key) ?? '[]');
    } catch {
      this.#records = [];
    }
  }

  /** Shows uploads a reload interrupted as paused bubbles, with how far they got. */
  restore() {
    for (const r of this.#records) {
      this.store.addLocal(r.conversation_id, { message_id: r.message_id, payload: display(r), local: { state: 'paused', progress: 0 } });
      if (r.upload_id) {
        this.api.get(`/v1/files/${r.upload_id}/status`).then(
          (s) => this.store.progress(r.message_id, s.percentage / 100),
          () => undefined,
        );
      }
    }
  }

  /** Starts sending a file, or continues an unfinished upload of the same file to the same chat. */
  send(conversationId, file) {
    const unfinished = this.#records.find((r) => r.conversation_id === conversationId && isSameFile(r, file) && !this.#files.has(r.message_id));
    if (unfinished) return this.resume(unfinished.message_id, file);
    const record = {
      message_id: uuid(),
      conversation_id: conversationId,
      name: file.name,
      size: file.size,
      type: file.type || 'application/octet-stream',
      modified: file.lastModified,
    };
    this.#records.push(record);
    this.#save();
    this.store.addLocal(conversationId, {
      message_id: record.message_id,
      payload: display(record),
      local: { state: 'uploading', progress: 0, previewUrl: previewOf(file) },
    });
    // Files upload in parallel but are sent in the order they were picked.
    const previous = this.#turns.get(conversationId) ?? Promise.resolve();
    let release;
    this.#turns.set(conversationId, new Promise((resolve) => (release = resolve)));
    this.#run(record, file, { previous, release });
  }

  /** Continues a paused upload; after a reload `file` must be the same file picked again. */
  resume(messageId, file) {
    const record = this.#records.find((r) => r.message_id === messageId);
    if (!record) return;
    file ??= this.#files.get(messageId);
    if (!file) throw new Error('Choose the file again to resume');
    if (!isSameFile(record, file)) throw new Error(`That is not ${record.name} (${record.size} bytes)`);
    this.store.update(messageId, {
      local: { state: 'uploading', error: undefined, previewUrl: this.store.find(messageId)?.local?.previewUrl ?? previewOf(file) },
    });
    this.#run(record, file);
  }

  /** Forgets an unfinished upload (the server removes abandoned uploads itself). */
  cancel(messageId) {
    this.#records = this.#records.filter((r) => r.message_id !== messageId);
    this.#files.delete(messageId);
    this.#cancelled.add(messageId);
    this.#save();
    this.store.remove(messageId);
  }

  /** Whether this page still holds the file (so resuming needs no new pick). */
  hasFile(messageId) {
    return this.#files.has(messageId);
  }

  async #run(record, file, turn = { previous: Promise.resolve(), release: () => undefined }) {
    this.#files.set(record.message_id, file);
    this.#cancelled.delete(record.message_id);
    try {
      await this.#ensureUpload(record);
      let status = await this.#status(record);
      if (status.status === 'pending' || status.status === 'uploading') {
        await this.#sendChunks(record, file, status.missing_chunks);
        await this.#complete(record, file);
        status = await this.#status(record);
      }
      await this.#untilUsable(record, status);
      await turn.previous;
      if (this.#cancelled.has(record.message_id)) return;
      this.#records = this.#records.filter((r) => r !== record);
      this.#save();
      this.store.update(record.message_id, { local: { state: 'sending' } });
      this.store.progress(record.message_id, 1);
      this.outbox.send(record.conversation_id, { type: 'file', file_id: record.upload_id }, { messageId: record.message_id, display: display(record) });
    } catch (e) {
      if (this.#cancelled.has(record.message_id)) return;
      const isRetryable = e.isTransient || e instanceof NetworkError;
      const error = e.code === 'route-not-found' ? 'This server does not accept files' : e.message;
      this.store.update(record.message_id, { local: { state: isRetryable ? 'paused' : 'failed', error } });
      if (!isRetryable) {
        this.#records = this.#records.filter((r) => r !== record);
        this.#save();
      }
    } finally {
      turn.release();
    }
  }

  async #ensureUpload(record) {
    if (record.upload_id) return;
    const created = await this.api.post('/v1/files/initiate', {
      filename: record.name,
      file_size: record.size,
      mime_type: record.type,
      conversation_id: record.conversation_id,
      chunk_size: CHUNK_SIZE,
    });
    Object.assign(record, { upload_id: created.upload_id, chunk_size: created.chunk_size, total_chunks: created.total_chunks });
    this.#save();
  }

  async #status(record) {
    try {
      return await this.api.get(`/v1/files/${record.upload_id}/status`);
    } catch (e) {
      // Expired or collected by gc: start a new upload of the same file.
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      record.upload_id = undefined;
      await this.#ensureUpload(record);
      return this.api.get(`/v1/files/${record.upload_id}/status`);
    }
  }

  async #sendChunks(record, file, missing) {
    const sizeOf = (n) => Math.min(record.chunk_size, record.size - (n - 1) * record.chunk_size);
    const inFlight = new Map();
    let done = record.size - missing.reduce((sum, n) => sum + sizeOf(n), 0);
    const report = () => this.store.progress(record.message_id, (done + [...inFlight.values()].reduce((a, b) => a + b, 0)) / record.size);
    report();
    const queue = [...missing];
    const worker = async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
        if (this.#cancelled.has(record.message_id)) throw new Error('Upload cancelled');
        const start = (n - 1) * record.chunk_size;
        await this.#sendChunk(record, n, file.slice(start, start + sizeOf(n)), (loaded) => {
          inFlight.set(n, loaded);
          report();
        });
        inFlight.delete(n);
        done += sizeOf(n);
        report();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  }

  async #sendChunk(record, n, blob, onProgress) {
    const checksum = await sha256Hex(blob);
    const url = `/v1/files/${record.upload_id}/chunks?chunk_number=${n}${checksum ? `&checksum_sha256=${checksum}` : ''}`;
    for (let attempt = 0; ; attempt++) {
      try {
        return await postChunk(url, blob, await this.api.session.accessToken(), onProgress);
      } catch (e) {
        if (e instanceof ApiError && e.code === 'chunk-already-uploaded') return undefined;
        if (e instanceof ApiError && e.status === 401) await this.api.session.refresh();
        else if (!(e instanceof NetworkError || e.isTransient) || attempt >= CHUNK_ATTEMPTS) throw e;
        onProgress(0);
        await sleep(Math.max(backoff(attempt), (e.retryAfterSeconds ?? 0) * 1000));
      }
    }
  }

  async #complete(record, file) {
    const checksum = file.size <= WHOLE_CHECKSUM_LIMIT ? await sha256Hex(file) : undefined;
    try {
      await this.api.post(`/v1/files/${record.upload_id}/complete`, checksum ? { checksum_sha256: checksum } : {});
    } catch (e) {
      // A chunk got lost on the way: send what the server still misses, once.
      if (!(e instanceof ApiError) || e.code !== 'upload-incomplete') throw e;
      await this.#sendChunks(record, file, e.problem.missing_chunks ?? (await this.#status(record)).missing_chunks);
      await this.api.post(`/v1/files/${record.upload_id}/complete`, checksum ? { checksum_sha256: checksum } : {});
    }
  }

  async #untilUsable(record, status) {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (status.status === 'completed') return;
      if (status.status === 'failed') throw new Error(status.error?.detail ?? 'The server rejected the file');
      if (Date.now() > deadline) throw new NetworkError('The server is still processing the file');
      await sleep(250);
      status = await this.#status(record);
    }
  }

  #save() {
    const records = this.#records.map(({ message_id, conversation_id, name, size, type, modified, upload_id, chunk_size, total_chunks }) => ({
      message_id,
      conversation_id,
      name,
      size,
      type,
      modified,
      upload_id,
      chunk_size,
      total_chunks,
    }));
    if (records.length) localStorage.setItem(this.key, JSON.stringify(records));
    else localStorage.removeItem(this.key);
  }
}

const display = (r) => ({ type: 'file', filename: r.name, size_bytes: r.size, mime_type: r.type });
const isSameFile = (r, file) => r.name === file.name && r.size === file.size && r.modified === file.lastModified;
const previewOf = (file) => (/^image\//.test(file.type) ? URL.createObjectURL(file) : undefined);

async function sha256Hex(blob) {
  if (!crypto.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** XHR rather than fetch: only XHR reports upload progress. */
function postChunk(url, blob, token, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded));
    xhr.addEventListener('load', () => {
      let body;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body, Number(xhr.getResponseHeader('retry-after')) || undefined));
    });
    xhr.addEventListener('error', () => reject(new NetworkError('The upload lost its connection')));
    xhr.addEventListener('abort', () => reject(new NetworkError('The upload was interrupted')));
    xhr.send(blob);
  });
}
