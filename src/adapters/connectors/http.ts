import { ConnectorError } from '../../ports/connector.ts';

export interface PlatformResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when the body is not JSON (an HTML error page from a proxy). */
  body: unknown;
}

export interface PostOptions {
  headers?: Record<string, string>;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as multipart/form-data (fetch writes the boundary). */
  form?: FormData;
  timeoutMs: number;
}

/**
 * POSTs to a platform and reads the whole answer within `timeoutMs`. Transport failures become
 * retryable ConnectorErrors (`timeout`, `network`); HTTP statuses are left to the caller, who knows
 * the platform's error body. `what` names the call in messages, never with its token.
 */
export async function postToPlatform(url: string, what: string, options: PostOptions): Promise<PlatformResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  let body: string | FormData | undefined = options.form;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  return callPlatform(url, what, { method: 'POST', headers, body }, options.timeoutMs);
}

/** GETs a JSON resource from a platform, like postToPlatform. */
export function getFromPlatform(url: string, what: string, options: { headers?: Record<string, string>; timeoutMs: number }): Promise<PlatformResponse> {
  return callPlatform(url, what, { method: 'GET', headers: { accept: 'application/json', ...options.headers } }, options.timeoutMs);
}

async function callPlatform(url: string, what: string, init: RequestInit, timeoutMs: number): Promise<PlatformResponse> {
  try {
    // One signal covers connecting, the headers and the body: a platform that stalls mid-body times out too.
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parseJson(text) };
  } catch (e) {
    throw transportError(what, timeoutMs, e);
  }
}

/** A request that got no HTTP answer: retryable `timeout` or `network`. */
export function transportError(what: string, timeoutMs: number, e: unknown): ConnectorError {
  if (e instanceof Error && e.name === 'TimeoutError') {
    return new ConnectorError(`${what}: no answer within ${timeoutMs} ms`, 'timeout', { cause: e });
  }
  const code = errorCode(e);
  return new ConnectorError(`${what}: ${code ?? (e instanceof Error ? e.message : 'request failed')}`, 'network', { cause: e });
}

/** Milliseconds to wait from an HTTP `Retry-After` value (delta-seconds or an HTTP-date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** undici reports `fetch failed` with the socket error (ECONNREFUSED, ECONNRESET…) as its cause. */
function errorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
