/** Managing outbound webhook endpoints: create (secret shown once), change, rotate, delete; deliveries, retry, replay. */
import type { Database } from '../../ports/database.ts';
import type { WebhookTransport } from '../../ports/webhook-transport.ts';
import { invalid, notFound } from '../../domain/errors.ts';
import { checkEndpointUrl, checkResolvedAddresses, hostOf, WEBHOOK_EVENT_TYPES } from '../../domain/webhook.ts';
import { newSecret } from './signing.ts';
import { DELIVERY_COLUMNS, ENDPOINT_COLUMNS, toDelivery, toEndpoint, type EndpointView } from './endpoint-views.ts';

export interface EndpointSettings {
  isPrivateAllowed: boolean;
  retryWindowMs: number;
  secretOverlapMs: number;
}

export interface EndpointInput {
  url: string;
  events: string[];
  description?: string | null;
}

const endpointNotFound = (id: number) => notFound('webhook-endpoint-not-found', `Webhook endpoint ${id} does not exist`);

export class WebhookEndpoints {
  constructor(
    private readonly db: Database,
    private readonly transport: WebhookTransport,
    private readonly settings: EndpointSettings,
  ) {}

  /** Creates an endpoint; the answer carries its signing secret, which is never shown again. */
  async create(userId: number, input: EndpointInput): Promise<EndpointView & { secret: string }> {
    const url = await this.checkUrl(input.url);
    const events = checkEvents(input.events);
    const secret = newSecret();
    const [row] = await this.db.query(
      `INSERT INTO webhook_endpoints (user_id, url, description, events, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
      [userId, url, input.description ?? null, events, secret],
    );
    return { ...toEndpoint(row), secret };
  }

  async list(userId: number): Promise<EndpointView[]> {
    const rows = await this.db.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE user_id = $1 ORDER BY id`, [userId]);
    return rows.map(toEndpoint);
  }

  async get(userId: number, id: number): Promise<EndpointView> {
    const [row] = await this.db.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND user_id = $2`, [id, userId]);
    if (!row) throw endpointNotFound(id);
    return toEndpoint(row);
  }

  /** Changes url, events or description; `enabled: true` re-enables a disabled endpoint (its waiting deliveries resume). */
  async update(userId: number, id: number, patch: Partial<EndpointInput> & { enabled?: boolean }): Promise<EndpointView> {
    const url = patch.url === undefined ? null : await this.checkUrl(patch.url);
    const events = patch.events === undefined ? null : checkEvents(patch.events);
    const [row] = await this.db.query(
      `UPDATE webhook_endpoints SET url = COALESCE($3, url), events = COALESCE($4, events),
              description = CASE WHEN $5::boolean THEN $6 ELSE description END,
              disabled_at = CASE WHEN $7::boolean IS NULL THEN disabled_at WHEN $7 THEN NULL ELSE COALESCE(disabled_at, now()) END,
              disabled_reason = CASE WHEN $7::boolean IS NULL THEN disabled_reason WHEN $7 THEN NULL ELSE COALESCE(disabled_reason, 'disabled by its owner') END,
              failing_since = CASE WHEN $7::boolean THEN NULL ELSE failing_since END,
              updated_at = now()
        WHERE id = $1 AND user_id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
      [id, userId, url, events, patch.description !== undefined, patch.description ?? null, patch.enabled ?? null],
    );
    if (!row) throw endpointNotFound(id);
    return toEndpoint(row);
  }

  /** Deletes the endpoint and its deliveries; nothing is sent to it any more. */
  async remove(userId: number, id: number): Promise<void> {
    const rows = await this.db.query('DELETE FROM webhook_endpoints WHERE id = $1 AND user_id = $2 RETURNING id', [id, userId]);
    if (rows.length === 0) throw endpointNotFound(id);
  }

  /** A new secret (shown once); the current one keeps signing beside it for the overlap period. */
  async rotateSecret(userId: number, id: number): Promise<EndpointView & { secret: string }> {
    const secret = newSecret();
    const [row] = await this.db.query(
      `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = now() + make_interval(secs => $4), secret = $3, updated_at = now()
        WHERE id = $1 AND user_id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
      [id, userId, secret, this.settings.secretOverlapMs / 1000],
    );
    if (!row) throw endpointNotFound(id);
    return { ...toEndpoint(row), secret };
  }

  /** The endpoint's deliveries, newest first. */
  async deliveries(userId: number, id: number, page: { limit: number; offset: number; status?: string }) {
    await this.get(userId, id);
    const rows = await this.db.query(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN outbound_events ev ON ev.id = d.event_id
        WHERE d.endpoint_id = $1 AND ($4::text IS NULL OR d.status = $4) ORDER BY d.id DESC LIMIT $2 OFFSET $3`,
      [id, page.limit + 1, page.offset, page.status ?? null],
    );
    return { deliveries: rows.slice(0, page.limit).map(toDelivery), limit: page.limit, offset: page.offset, has_more: rows.length > page.limit };
  }

  /** Sends one delivery again from now (whatever its state), with a fresh retry window. */
  async retry(userId: number, endpointId: number, deliveryId: number) {
    await this.get(userId, endpointId);
    const [row] = await this.db.query(
      `WITH d AS (
         UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), lease_until = NULL, give_up_at = now() + make_interval(secs => $3)
          WHERE id = $1 AND endpoint_id = $2 RETURNING *)
       SELECT ${DELIVERY_COLUMNS} FROM d JOIN outbound_events ev ON ev.id = d.event_id`,
      [deliveryId, endpointId, this.settings.retryWindowMs / 1000],
    );
    if (!row) throw notFound('webhook-delivery-not-found', `Delivery ${deliveryId} of endpoint ${endpointId} does not exist`);
    return toDelivery(row);
  }

  /** Sends again every delivery that failed since `since`, in their original order; returns how many. */
  async replay(userId: number, endpointId: number, since: Date): Promise<{ replayed: number }> {
    await this.get(userId, endpointId);
    const rows = await this.db.query(
      `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), lease_until = NULL, give_up_at = now() + make_interval(secs => $3)
        WHERE endpoint_id = $1 AND status = 'failed' AND created_at >= $2 RETURNING id`,
      [endpointId, since.toISOString(), this.settings.retryWindowMs / 1000],
    );
    return { replayed: rows.length };
  }

  /** The URL's form, then (unless private addresses are allowed) every address its host resolves to. */
  private async checkUrl(raw: string): Promise<string> {
    const url = checkEndpointUrl(raw, this.settings.isPrivateAllowed);
    if (!this.settings.isPrivateAllowed) {
      const host = hostOf(url);
      const addresses = await this.transport.resolve(host).catch(() => []);
      checkResolvedAddresses(host, addresses);
    }
    return url.toString();
  }
}

/** Known event types, each once; the schema caps the count. */
function checkEvents(events: string[]): string[] {
  const unknown = events.filter((e) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(e));
  if (unknown.length > 0)
    throw invalid('validation-failed', `Unknown event types: ${unknown.join(', ')}`, { errors: [{ path: '/events', message: 'unknown event type' }] });
  if (events.length === 0)
    throw invalid('validation-failed', 'Subscribe to at least one event', { errors: [{ path: '/events', message: 'must not be empty' }] });
  return [...new Set(events)];
}
