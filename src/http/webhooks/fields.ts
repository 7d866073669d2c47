/**
 * Narrowing of untrusted webhook JSON. Each reader checks one field and throws `invalid-webhook`
 * (400) naming its JSON pointer, so the parsers read as plain field access and no unchecked value
 * is ever cast to a type.
 */
import { invalid } from '../../domain/errors.ts';
import { sanitizeInboundText, type InboundMedia, type InboundMediaKind } from '../../domain/inbound-event.ts';
import { displayFilename, normaliseMime } from '../../domain/upload.ts';

export type Json = Record<string, unknown>;

/** 400 for a body that is not the platform's documented shape. */
export const invalidWebhook = (path: string, expected: string) =>
  invalid('invalid-webhook', `The webhook body is not a valid payload: ${path || '/'} must be ${expected}`, {
    errors: [{ path: path || '/', message: `must be ${expected}` }],
  });

export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function record(v: unknown, path: string): Json {
  if (!isRecord(v)) throw invalidWebhook(path, 'an object');
  return v;
}

export function optRecord(v: unknown, path: string): Json | undefined {
  return v === undefined ? undefined : record(v, path);
}

export function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw invalidWebhook(path, 'an array');
  return v;
}

/** Absent means empty: Meta omits arrays it has nothing to put in. */
export function optArray(v: unknown, path: string): unknown[] {
  return v === undefined ? [] : array(v, path);
}

export function string(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') throw invalidWebhook(path, 'a non-empty string');
  return v;
}

export function optString(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidWebhook(path, 'a string');
  return v;
}

/** Required text from a person, repaired like optText. */
export const text = (v: unknown, path: string): string => sanitizeInboundText(string(v, path));

/** A person's words: kept even when they hold NUL or broken surrogates (see sanitizeInboundText). */
export function optText(v: unknown, path: string): string | undefined {
  const s = optString(v, path);
  return s === undefined ? undefined : sanitizeInboundText(s);
}

export function integer(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidWebhook(path, 'an integer');
  return v;
}

/** Ids arrive as JSON numbers (Telegram) or strings (Meta); we keep them as decimal text. */
export function id(v: unknown, path: string): string {
  if (typeof v === 'number') return String(integer(v, path));
  return string(v, path);
}

const timeFrom = (v: unknown, path: string, scale: number): Date => {
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
  const date = typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? new Date(n * scale) : undefined;
  // Past year 275760 a Date is invalid; reject rather than store NaN.
  if (!date || Number.isNaN(date.getTime())) throw invalidWebhook(path, 'a Unix timestamp');
  return date;
};

/** Telegram `date` and WhatsApp `timestamp` (a numeric string) are Unix seconds. */
export const unixSeconds = (v: unknown, path: string) => timeFrom(v, path, 1000);
/** Messenger and Instagram `timestamp` and `watermark` are Unix milliseconds. */
export const unixMillis = (v: unknown, path: string) => timeFrom(v, path, 1);

/** Drops undefined fields so events compare and serialise cleanly. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Builds an InboundMedia with the filename and media type made safe to store and show. */
export function inboundMedia(kind: InboundMediaKind, m: Omit<InboundMedia, 'kind'>): InboundMedia {
  return compact({
    kind,
    providerMediaId: m.providerMediaId,
    url: m.url,
    mimeType: m.mimeType === undefined ? undefined : normaliseMime(m.mimeType),
    filename: m.filename === undefined ? undefined : displayFilename(m.filename),
    caption: m.caption === undefined ? undefined : sanitizeInboundText(m.caption),
  });
}
