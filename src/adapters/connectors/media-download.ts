/**
 * Downloading a person's file from a platform: one GET whose body is streamed when its length is
 * announced and buffered (never past the limit) when it is not, so that the caller always knows
 * the exact size before it stores a byte.
 */
import { Readable, pipeline } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ConnectorError, MediaTooLarge, type FetchedMedia } from '../../ports/connector.ts';
import { exactLength } from '../blobs/exact-length.ts';
import { parseJson, parseRetryAfter, transportError, type PlatformResponse } from './http.ts';

export interface DownloadOptions {
  headers?: Record<string, string>;
  /** For the whole download, body included. */
  timeoutMs: number;
  maxBytes: number;
  /** The size the platform's API stated, checked before the download starts. */
  statedSize?: number;
  /** The type the platform's API stated, preferred to the download's Content-Type. */
  statedMimeType?: string;
  filename?: string;
  /** Turns a non-2xx answer into the platform's ConnectorError (default: by HTTP status). */
  errorOf?: (what: string, response: PlatformResponse) => ConnectorError;
}

// Some CDNs answer clients without a User-Agent with an error page.
const USER_AGENT = 'Chat4All/1.0 (media download)';

export async function downloadMedia(url: string, what: string, options: DownloadOptions): Promise<FetchedMedia> {
  const { maxBytes } = options;
  if (options.statedSize !== undefined && options.statedSize > maxBytes) throw new MediaTooLarge(maxBytes, options.statedSize);
  let response: Response;
  try {
    // Redirects are followed (CDN links move); fetch drops Authorization when one leaves the origin.
    response = await fetch(url, {
      headers: { 'user-agent': USER_AGENT, ...options.headers },
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'follow',
    });
  } catch (e) {
    throw transportError(what, options.timeoutMs, e);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw (options.errorOf ?? downloadError)(what, { status: response.status, headers: response.headers, body: parseJson(text) });
  }
  // What the platform's API said beats a CDN's header (often application/octet-stream).
  const mimeType = options.statedMimeType ?? contentType(response.headers);
  const meta = { ...(mimeType ? { mimeType } : {}), ...(options.filename ? { filename: options.filename } : {}) };
  const source = response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
  // A compressed answer's Content-Length counts the compressed bytes, not what fetch hands us.
  const length = response.headers.has('content-encoding') ? undefined : contentLength(response.headers);
  if (length !== undefined) {
    if (length > maxBytes) {
      source.destroy();
      throw new MediaTooLarge(maxBytes, length);
    }
    const body = exactLength(length);
    // pipeline, not pipe: a failure on either side (platform cut off, reader gone) ends both.
    pipeline(source, body, () => undefined);
    return { body, sizeBytes: length, ...meta };
  }
  const bytes = await readAtMost(source, maxBytes, what, options.timeoutMs);
  return { body: Readable.from([bytes]), sizeBytes: bytes.length, ...meta };
}

/** The last segment of a URL's path when it looks like a file name (`file_12.jpg`), else undefined. */
export function filenameOfPath(path: string): string | undefined {
  const last = path.split('/').filter(Boolean).pop();
  if (!last) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    return undefined;
  }
  return /^[^\\/\0]{1,200}\.[A-Za-z0-9]{1,10}$/.test(name) ? name : undefined;
}

async function readAtMost(source: Readable, maxBytes: number, what: string, timeoutMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) {
        source.destroy();
        throw new MediaTooLarge(maxBytes);
      }
      chunks.push(buf);
    }
  } catch (e) {
    if (e instanceof MediaTooLarge) throw e;
    throw transportError(what, timeoutMs, e);
  }
  return Buffer.concat(chunks, size);
}

function contentLength(headers: Headers): number | undefined {
  const raw = headers.get('content-length');
  return raw !== null && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
}

function contentType(headers: Headers): string | undefined {
  const type = headers.get('content-type')?.split(';')[0].trim().toLowerCase();
  return type && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : undefined;
}

/** A CDN answer: 429 and 5xx pass with time; anything else (gone, expired link, forbidden) will not. */
function downloadError(what: string, response: PlatformResponse): ConnectorError {
  const { status } = response;
  const detail = `${what}: HTTP ${status}`;
  if (status === 429)
    return new ConnectorError(detail, 'rate-limited', { providerCode: '429', retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) });
  if (status >= 500) return new ConnectorError(detail, 'unavailable', { providerCode: String(status) });
  return new ConnectorError(detail, status === 401 ? 'auth' : 'invalid-request', { providerCode: String(status) });
}
