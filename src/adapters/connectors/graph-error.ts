/**
 * Meta's Graph API error body, shared by WhatsApp Cloud API, Messenger and Instagram:
 * `{error:{message, type, code, error_subcode, error_data:{details}, fbtrace_id}}`.
 * Classified by `code` (and `error_subcode` where one code covers several causes), as Meta
 * recommends, never by message text:
 * https://developers.facebook.com/docs/graph-api/guides/error-handling
 * https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
 * https://developers.facebook.com/docs/messenger-platform/error-codes
 */
import { ConnectorError, type ConnectorErrorClass } from '../../ports/connector.ts';
import { parseRetryAfter, type PlatformResponse } from './http.ts';

export interface GraphError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_data?: { details?: string };
  fbtrace_id?: string;
}

const BY_CODE = new Map<number, ConnectorErrorClass>([
  // Throttling: app (4), user (17), page (32), custom (613), WABA (80007), throughput (130429),
  // spam-quality (131048) and per-recipient pair rate (131056): all pass with time.
  ...[4, 17, 32, 613, 80007, 130429, 131048, 131056].map((c) => [c, 'rate-limited'] as const),
  // Unknown (1), service down (2), Messenger's temporary send failure (1200), WhatsApp's generic
  // (131000) and service-unavailable (131016) errors.
  ...[1, 2, 1200, 131000, 131016].map((c) => [c, 'unavailable'] as const),
  // WhatsApp's re-engagement error: more than 24 h since the customer last wrote.
  [131047, 'window-closed'],
  // Undeliverable (131026), test recipient not allow-listed (131030), recipient is the sender (131021).
  ...[131026, 131030, 131021].map((c) => [c, 'invalid-recipient'] as const),
  // Messenger/Instagram "this person isn't available right now"; WhatsApp marketing opt-out.
  ...[551, 131050].map((c) => [c, 'blocked'] as const),
  // Restricted account (368, 131031), Meta chose not to deliver (131049).
  ...[368, 131031, 131049].map((c) => [c, 'policy'] as const),
  // Token invalid or expired (0, 190, 102), permission missing (10, 200-299 below).
  ...[0, 102, 190, 10].map((c) => [c, 'auth'] as const),
]);

/** Messenger/Instagram subcodes that say more than their code. */
const BY_SUBCODE = new Map<number, ConnectorErrorClass>([
  [2018278, 'window-closed'], // 10: sent outside of the allowed window
  [2018065, 'window-closed'], // 10: outside of the allowed window, needs a tag/permission
  [2018001, 'invalid-recipient'], // 100: no matching user found
]);

export function classifyGraphError(status: number, error: GraphError | undefined): ConnectorErrorClass {
  const bySub = error?.error_subcode === undefined ? undefined : BY_SUBCODE.get(error.error_subcode);
  if (bySub) return bySub;
  const code = error?.code;
  if (code !== undefined) {
    const byCode = BY_CODE.get(code);
    if (byCode) return byCode;
    if (code >= 200 && code <= 299) return 'auth';
  }
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'unavailable';
  if (code === undefined && (status === 401 || status === 403)) return 'auth';
  return 'invalid-request';
}

/** The ConnectorError for a non-2xx Graph answer. `providerCode` is `code` or `code/subcode`. */
export function graphError(what: string, response: PlatformResponse): ConnectorError {
  const error = readGraphError(response.body);
  const errorClass = classifyGraphError(response.status, error);
  const providerCode = error?.code === undefined ? String(response.status) : error.error_subcode ? `${error.code}/${error.error_subcode}` : String(error.code);
  const detail = error?.error_data?.details ?? error?.message ?? `HTTP ${response.status}`;
  return new ConnectorError(`${what}: ${detail}`, errorClass, { providerCode, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) });
}

function readGraphError(body: unknown): GraphError | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const error = (body as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return undefined;
  const e = error as Record<string, unknown>;
  return {
    message: typeof e.message === 'string' ? e.message : undefined,
    type: typeof e.type === 'string' ? e.type : undefined,
    code: typeof e.code === 'number' ? e.code : undefined,
    error_subcode: typeof e.error_subcode === 'number' ? e.error_subcode : undefined,
    error_data: e.error_data && typeof e.error_data === 'object' ? (e.error_data as { details?: string }) : undefined,
    fbtrace_id: typeof e.fbtrace_id === 'string' ? e.fbtrace_id : undefined,
  };
}
