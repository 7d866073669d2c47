/** fetch with JSON bodies and RFC 9457 problem documents turned into ApiError. */

/** The server answered with an error (a problem document when it could). */
export class ApiError extends Error {
  constructor(status, problem, retryAfterSeconds) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code ?? `http-${status}`;
    this.problem = problem ?? {};
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Worth retrying unchanged later: the server is busy or down, not refusing the request. */
  get isTransient() {
    return this.status === 429 || this.status >= 500;
  }
}

/** The request never got an answer (offline, connection reset, server down). */
export class NetworkError extends Error {
  isTransient = true;
}

/**
 * Sends one request. `body` objects go as JSON; Blobs go raw. Resolves with the parsed JSON
 * (or undefined for empty bodies) and throws ApiError / NetworkError.
 */
export async function fetchJson(method, url, { body, token, headers = {}, signal } = {}) {
  const init = { method, headers: { accept: 'application/json', ...headers }, signal };
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body instanceof Blob) init.body = body;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new NetworkError(`Network error: ${e?.message ?? e}`, { cause: e });
  }
  const text = await res.text().catch(() => '');
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, data, Number(res.headers.get('retry-after')) || undefined);
  return data;
}

/** A v4 UUID; crypto.randomUUID only exists in secure contexts, getRandomValues everywhere. */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at `maxMs`. */
export const backoff = (attempt, maxMs = 30_000) => Math.min(maxMs, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4);
