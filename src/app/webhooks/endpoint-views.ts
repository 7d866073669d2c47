/** Rows of webhook_endpoints and webhook_deliveries as the API shows them. */
import type { Row } from '../../ports/database.ts';
import { iso } from '../time.ts';

const isoOrNull = (v: unknown) => (v === null || v === undefined ? null : iso(v));

export const ENDPOINT_COLUMNS = 'id, url, description, events, disabled_at, disabled_reason, failing_since, previous_secret_expires_at, created_at, updated_at';

export function toEndpoint(r: Row) {
  return {
    endpoint_id: Number(r.id),
    url: String(r.url),
    description: r.description === null ? null : String(r.description),
    events: r.events as string[],
    enabled: r.disabled_at === null,
    disabled_at: isoOrNull(r.disabled_at),
    disabled_reason: r.disabled_reason === null ? null : String(r.disabled_reason),
    failing_since: isoOrNull(r.failing_since),
    previous_secret_expires_at: isoOrNull(r.previous_secret_expires_at),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}
export type EndpointView = ReturnType<typeof toEndpoint>;

export const DELIVERY_COLUMNS = `d.id, d.event_id, ev.type, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_status_code,
  d.last_latency_ms, d.last_error, d.created_at`;

export function toDelivery(r: Row) {
  const nullableNumber = (v: unknown) => (v === null ? null : Number(v));
  return {
    delivery_id: Number(r.id),
    event_id: String(r.event_id),
    event_type: String(r.type),
    status: String(r.status),
    attempts: Number(r.attempts),
    next_attempt_at: r.status === 'pending' ? iso(r.next_attempt_at) : null,
    last_attempt_at: isoOrNull(r.last_attempt_at),
    status_code: nullableNumber(r.last_status_code),
    latency_ms: nullableNumber(r.last_latency_ms),
    error: r.last_error === null ? null : String(r.last_error),
    created_at: iso(r.created_at),
  };
}
