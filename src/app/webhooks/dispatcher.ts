/**
 * The webhook worker's two jobs: turn events from the log into deliveries (one per endpoint and
 * event, idempotent), and send due deliveries: at least once, each (endpoint, conversation) in
 * event order, retried with backoff and jitter until the retry window closes.
 */
import { messageHead } from '../messages.ts';
import type { Database, Row } from '../../ports/database.ts';
import type { WebhookTransport } from '../../ports/webhook-transport.ts';
import { WEBHOOKS_TOPIC, type WebhookEventRecorded } from '../../domain/log-topics.ts';
import { checkResolvedAddresses, hostOf, retryDelayMs } from '../../domain/webhook.ts';
import { isDomainError } from '../../domain/errors.ts';
import type { Logger } from '../logger.ts';
import { iso } from '../time.ts';
import { metrics } from '../../metrics.ts';
import { signedHeaders } from './signing.ts';

export interface DispatchSettings {
  isPrivateAllowed: boolean;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  retryWindowMs: number;
  disableAfterMs: number;
  pollMs: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_ERROR_LENGTH = 500;

type Outcome = { ok: true; status: number; latencyMs: number } | { ok: false; status: number | null; latencyMs: number | null; error: string };

export class WebhookDispatcher {
  constructor(
    private readonly db: Database,
    private readonly transport: WebhookTransport,
    readonly settings: DispatchSettings,
    private readonly logger: Logger,
  ) {}

  /** Stores the events and a pending delivery per recipient endpoint that still exists; repeats change nothing. */
  async materialize(events: readonly WebhookEventRecorded[]): Promise<void> {
    if (events.length === 0) return;
    const withData = await this.fillMessageData(events);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO outbound_events (id, type, order_key, data, occurred_at)
         SELECT (x->>'id')::uuid, x->>'type', x->>'order_key', x->'data', (x->>'occurred_at')::timestamptz FROM jsonb_array_elements($1::jsonb) AS t(x)
         ON CONFLICT (id) DO NOTHING`,
        [JSON.stringify(withData)],
      );
      // In log order, so that delivery ids follow each conversation's event order.
      await tx.query(
        `INSERT INTO webhook_deliveries (endpoint_id, event_id, order_key, give_up_at)
         SELECT e.id, (x->>'id')::uuid, x->>'order_key', now() + make_interval(secs => $2)
           FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(x, n)
           CROSS JOIN LATERAL jsonb_array_elements_text(x->'endpoint_ids') WITH ORDINALITY AS r(endpoint_id, k)
           JOIN webhook_endpoints e ON e.id = r.endpoint_id::bigint
          ORDER BY t.n, r.k
         ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
        [JSON.stringify(withData), this.settings.retryWindowMs / 1000],
      );
    }, 'webhook-materialize');
  }

  /** Sends up to `limit` due deliveries, the oldest pending one of each endpoint and conversation; returns how many. */
  async deliverDue(limit: number): Promise<number> {
    const leaseSeconds = (this.settings.timeoutMs * 2 + 5000) / 1000;
    const claimed = await this.db.query(
      `UPDATE webhook_deliveries d SET lease_until = now() + make_interval(secs => $2)
         FROM (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.disabled_at IS NULL
                WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.lease_until IS NULL OR d.lease_until < now())
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key
                                     AND p.status = 'pending' AND p.id < d.id)
                ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED) c
        WHERE d.id = c.id
       RETURNING d.id, d.attempts, d.give_up_at, d.endpoint_id, d.event_id`,
      [limit, leaseSeconds],
    );
    await Promise.all(claimed.map((d) => this.attempt(d)));
    return claimed.length;
  }

  /**
   * With the in-process log, events published but not yet turned into deliveries died with the
   * previous process: the outbox keeps published rows for an hour, so they are read again (repeats change nothing).
   */
  async recoverPublished(): Promise<number> {
    const rows = await this.db.query(`SELECT payload FROM outbox WHERE topic = '${WEBHOOKS_TOPIC}' AND published_at IS NOT NULL ORDER BY id`);
    for (let i = 0; i < rows.length; i += 500) await this.materialize(rows.slice(i, i + 500).map((r) => r.payload as WebhookEventRecorded));
    return rows.length;
  }

  /** Deletes finished deliveries older than `olderThanMs` and the events nobody waits for any more, `limit` at most; returns how many deliveries. */
  async prune(olderThanMs: number, limit: number): Promise<number> {
    const gone = await this.db.query(
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT $2) RETURNING id`,
      [olderThanMs / 1000, limit],
    );
    await this.db.query(
      `DELETE FROM outbound_events ev WHERE ev.id IN (
         SELECT id FROM outbound_events WHERE occurred_at < now() - make_interval(secs => $1) LIMIT $2)
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = ev.id)`,
      [olderThanMs / 1000, limit],
    );
    return gone.length;
  }

  /** Pending deliveries per endpoint, for the backlog gauge. */
  async sampleBacklog(): Promise<void> {
    // Every enabled endpoint, 0 included, so a backlog that drains is seen going to 0.
    const rows = await this.db.query(
      `SELECT e.id, count(d.id)::int AS n FROM webhook_endpoints e LEFT JOIN webhook_deliveries d ON d.endpoint_id = e.id AND d.status = 'pending'
        WHERE e.disabled_at IS NULL OR d.id IS NOT NULL GROUP BY e.id`,
    );
    metrics.webhookBacklog.reset();
    for (const r of rows) metrics.webhookBacklog.set({ endpoint_id: String(r.id) }, Number(r.n));
  }

  private async attempt(d: Row): Promise<void> {
    const [target] = await this.db.query(
      `SELECT e.url, e.secret, CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret,
              ev.id, ev.type, ev.data, ev.occurred_at
         FROM webhook_endpoints e JOIN outbound_events ev ON ev.id = $2 WHERE e.id = $1`,
      [d.endpoint_id, d.event_id],
    );
    if (!target) return; // deleted meanwhile (the delivery went with it)
    const body = JSON.stringify({ type: target.type, timestamp: iso(target.occurred_at), data: target.data });
    const secrets = [String(target.secret), ...(target.previous_secret ? [String(target.previous_secret)] : [])];
    const outcome = await this.send(new URL(String(target.url)), signedHeaders(secrets, String(target.id), new Date(), body), body);
    await this.record(d, outcome);
  }

  /** Resolves the host again and refuses private addresses now too (DNS rebinding), then posts to that very address. */
  private async send(url: URL, headers: Record<string, string>, body: string): Promise<Outcome> {
    const host = hostOf(url);
    let address: string;
    try {
      const addresses = await this.transport.resolve(host);
      if (!this.settings.isPrivateAllowed) checkResolvedAddresses(host, addresses);
      address = addresses[0];
    } catch (e) {
      return { ok: false, status: null, latencyMs: null, error: isDomainError(e) || e instanceof Error ? e.message : String(e) };
    }
    try {
      const answer = await this.transport.post({ url, address, headers, body, timeoutMs: this.settings.timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES });
      metrics.webhookLatency.observe(answer.latencyMs / 1000);
      if (answer.status >= 200 && answer.status < 300) return { ok: true, ...answer };
      const note = answer.status >= 300 && answer.status < 400 ? ' (redirects are not followed)' : '';
      return { ok: false, status: answer.status, latencyMs: answer.latencyMs, error: `HTTP ${answer.status}${note}` };
    } catch (e) {
      const latencyMs = (e as { latencyMs?: number }).latencyMs ?? null;
      if (latencyMs !== null) metrics.webhookLatency.observe(latencyMs / 1000);
      return { ok: false, status: null, latencyMs, error: e instanceof Error ? e.message : String(e) };
    }
  }

  private async record(d: Row, outcome: Outcome): Promise<void> {
    const attempts = Number(d.attempts) + 1;
    const delayMs = retryDelayMs(attempts, this.settings.retryBaseMs, this.settings.retryMaxDelayMs);
    const isGivingUp = !outcome.ok && Date.now() + delayMs > new Date(d.give_up_at as string).getTime();
    const status = outcome.ok ? 'succeeded' : isGivingUp ? 'failed' : 'pending';
    const error = outcome.ok ? null : outcome.error.slice(0, MAX_ERROR_LENGTH);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE webhook_deliveries SET status = $2, attempts = $3, lease_until = NULL, last_attempt_at = now(), last_status_code = $4, last_latency_ms = $5,
                last_error = $6, next_attempt_at = CASE WHEN $2 = 'pending' THEN now() + make_interval(secs => $7) ELSE next_attempt_at END
          WHERE id = $1`,
        [d.id, status, attempts, outcome.status, outcome.latencyMs, error, delayMs / 1000],
      );
      // An endpoint failing without a single success for disableAfterMs is disabled, with the reason its owner sees.
      await tx.query(
        outcome.ok
          ? 'UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL'
          : `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now()),
                    disabled_at = CASE WHEN failing_since < now() - make_interval(secs => $2) THEN now() END,
                    disabled_reason = CASE WHEN failing_since < now() - make_interval(secs => $2)
                      THEN 'failing since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '; last error: ' || $3 END
              WHERE id = $1 AND disabled_at IS NULL`,
        outcome.ok ? [d.endpoint_id] : [d.endpoint_id, this.settings.disableAfterMs / 1000, error],
      );
    }, 'webhook-attempt');
    metrics.webhookDeliveries.inc({ outcome: outcome.ok ? 'succeeded' : isGivingUp ? 'failed' : 'retrying' });
    if (!outcome.ok) this.logger.debug({ delivery_id: d.id, endpoint_id: d.endpoint_id, error, status }, 'webhook delivery attempt failed');
  }

  /** `message.created` carries only the message id through the log: its data is the message as clients see it. */
  private async fillMessageData(events: readonly WebhookEventRecorded[]): Promise<WebhookEventRecorded[]> {
    const ids = events.flatMap((e) => (e.data_from_message ? [e.data_from_message] : []));
    if (ids.length === 0) return [...events];
    const rows = await this.db.query(
      `SELECT m.id, m.conversation_id, m.seq, m.sender_id, u.username AS sender_username, m.sender_contact_id, ct.channel AS contact_channel,
              ct.display_name AS contact_name, m.payload, m.channels, m.created_at
         FROM messages m LEFT JOIN users u ON u.id = m.sender_id LEFT JOIN contacts ct ON ct.id = m.sender_contact_id
        WHERE m.id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [String(r.id), messageData(r)]));
    return events.map((e) => (e.data_from_message ? { ...e, data: byId.get(e.data_from_message) ?? { message_id: e.data_from_message } } : e));
  }
}

function messageData(r: Row): Record<string, unknown> {
  return {
    ...messageHead(r),
    ...(r.sender_contact_id === null
      ? {}
      : { sender_contact: { contact_id: Number(r.sender_contact_id), channel: r.contact_channel, display_name: r.contact_name ?? null } }),
    payload: r.payload,
    channels: r.channels,
    created_at: iso(r.created_at),
  };
}
