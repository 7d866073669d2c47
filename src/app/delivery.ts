/**
 * The delivery pipeline's use cases: outbox relay → router → connectors → status.
 * Every step is idempotent, so the at-least-once event log may repeat any of them.
 */
import type { Database } from '../ports/database.ts';
import type { EventLog, LogRecord } from '../ports/event-log.ts';
import { ConnectorError, type Connector } from '../ports/connector.ts';
import { CHANNELS, type ExternalChannel, type Payload } from '../domain/message.ts';
import { metrics } from '../metrics.ts';
import type { Logger } from './logger.ts';
import type { Notifier } from './notify.ts';
import { announce, recordMoves, settle } from './settle.ts';
import { iso } from './conversations.ts';
import { SpanKind, currentTraceHeaders, traceparentOf, withBatchSpans, withSpan, type TraceHeaders } from '../tracing.ts';

export const channelTopic = (c: ExternalChannel) => `channel.${c}`;
export const STATUS_TOPIC = 'status';
/** Deliveries given up after their retries (for consumers outside Chat4All: alerting, audits); the database keeps the record `dlq replay` uses. */
export const DEAD_LETTER_TOPIC = 'dead-letters';
// Any constant shared by relays: only one relay publishes at a time, which keeps per-key order.
const RELAY_LOCK = 4_242_002;

export interface DeliverySettings {
  maxAttempts: number;
  backoffBaseMs: number;
  /** How long a claimed delivery may take before it is handed out again. */
  leaseMs: number;
}

interface ChannelWork { message_id: string; channel: ExternalChannel; attempt: number }
interface StatusEvent { message_id: string; channel: ExternalChannel; status: 'delivered' | 'failed'; error?: string; external_id?: string }

export class Delivery {
  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    private readonly notify: Notifier,
    private readonly connectors: ReadonlyMap<ExternalChannel, Connector>,
    private readonly settings: DeliverySettings,
    private readonly logger: Logger,
  ) {}

  /** Publishes up to `limit` outbox rows in id order; returns how many. Rows are marked only after the log accepted them. */
  async relayOutbox(limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      // Published rows leave dead entries in the partial index until VACUUM; a bitmap scan reads
      // all of them every time, a plain index scan marks them dead once and skips them after.
      const [lock] = await tx.query("SELECT pg_try_advisory_xact_lock($1) AS ok, set_config('enable_bitmapscan', 'off', true)", [RELAY_LOCK]);
      if (!lock.ok) return 0;
      const rows = await tx.query('SELECT id, topic, key, payload, headers FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1', [limit]);
      if (rows.length === 0) return 0;
      await this.publish(rows.map((r) => ({ topic: String(r.topic), key: String(r.key), value: r.payload, headers: (r.headers as Record<string, string> | null) ?? undefined })));
      await tx.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.length;
    }, 'relay-outbox');
  }

  /** Routes accepted messages: internal members are handed the message, external channels get work items. */
  async route(records: LogRecord[]): Promise<void> {
    await withBatchSpans('message.route', records, { keyOf: messageIdOf, parentOf: traceparentOf }, (headersFor) => this.routeBatch(records, headersFor), { kind: SpanKind.CONSUMER });
  }

  /** `headersFor(messageId)`: the trace context its work items continue. */
  private async routeBatch(records: LogRecord[], headersFor: (messageId: string) => TraceHeaders | undefined): Promise<void> {
    const ids = [...new Set(records.map(messageIdOf))];
    const { routed } = await this.db.transaction(async (tx) => {
      // Routing hands the message to every target: accepted → sent in the same row update (an
      // unrouted message is always 'accepted': settlement only looks at routed ones).
      const routed = await tx.query(
        `UPDATE messages SET routed_at = now(), status = 'sent', status_at = now() WHERE id = ANY($1::uuid[]) AND routed_at IS NULL AND status = 'accepted'
         RETURNING id, conversation_id, seq, status, status_at, channels, created_at, sender_id`,
        [ids],
      );
      const work: ChannelWork[] = [];
      for (const m of routed) {
        for (const c of (m.channels as string[]).filter(isExternal)) work.push({ message_id: String(m.id), channel: c, attempt: 1 });
      }
      if (work.length > 0) {
        await tx.query(
          `INSERT INTO message_channels (message_id, channel, next_attempt_at)
           SELECT w.m, w.c, now() + make_interval(secs => $3) FROM unnest($1::uuid[], $2::text[]) AS w(m, c) ON CONFLICT DO NOTHING`,
          [work.map((w) => w.message_id), work.map((w) => w.channel), this.settings.leaseMs / 1000],
        );
      }
      const sent = await recordMoves(tx, routed);
      // Then whatever cursors already passed (fast-path acks) may move them further.
      await announce(this.notify, [...sent, ...(await settle(tx, { messageIds: routed.map((m) => String(m.id)) }))]);
      return { routed: { work, count: routed.length } };
    }, 'route-messages');
    if (routed.work.length > 0) {
      await this.publish(routed.work.map((w) => ({ topic: channelTopic(w.channel), key: w.message_id, value: w, headers: headersFor(w.message_id) })));
    }
  }

  /** Sends one claimed delivery through its connector and reports the outcome on the status topic. */
  async deliver(records: LogRecord[]): Promise<void> {
    await Promise.all(
      records.map((r) =>
        withSpan('channel.deliver', traceparentOf(r), (span) => {
          const work = r.value as ChannelWork;
          span?.setAttributes({ 'chat4all.message_id': work.message_id, 'chat4all.channel': work.channel, 'chat4all.attempt': work.attempt });
          return this.deliverOne(work);
        }, { kind: SpanKind.CONSUMER }),
      ),
    );
  }

  private async deliverOne(work: ChannelWork): Promise<void> {
    const connector = this.connectors.get(work.channel);
    // Claim: only the holder of attempt N may send it; duplicates and stale wake-ups stop here.
    const claimed = await this.db.query(
      `UPDATE message_channels mc SET attempts = $3, next_attempt_at = now() + make_interval(secs => $4), updated_at = now()
        FROM messages m WHERE m.id = mc.message_id AND mc.message_id = $1 AND mc.channel = $2 AND mc.status = 'pending' AND mc.attempts = $3 - 1
       RETURNING m.conversation_id, m.sender_id, m.payload, m.recipient`,
      [work.message_id, work.channel, work.attempt, this.settings.leaseMs / 1000],
    );
    const row = claimed[0];
    if (!row) return;
    try {
      if (!connector) throw new ConnectorError(`channel ${work.channel} is not enabled`, true);
      const { externalId } = await connector.send({
        messageId: work.message_id, conversationId: Number(row.conversation_id), senderId: Number(row.sender_id),
        to: (row.recipient as string | null) ?? undefined, payload: row.payload as Payload, attempt: work.attempt,
      });
      metrics.connectorSends.inc({ channel: work.channel, result: 'success' });
      await this.publish([{ topic: STATUS_TOPIC, key: work.message_id, value: { message_id: work.message_id, channel: work.channel, status: 'delivered', external_id: externalId } satisfies StatusEvent }]);
    } catch (e) {
      metrics.connectorSends.inc({ channel: work.channel, result: 'failure' });
      const reason = e instanceof Error ? e.message : String(e);
      const isPermanent = e instanceof ConnectorError && e.isPermanent;
      if (isPermanent || work.attempt >= this.settings.maxAttempts) {
        await this.deadLetter(work, reason);
      } else {
        const delayMs = this.settings.backoffBaseMs * 2 ** (work.attempt - 1) * (0.75 + Math.random() * 0.5);
        await this.db.query(
          `UPDATE message_channels SET next_attempt_at = now() + make_interval(secs => $4), error = $5, updated_at = now()
            WHERE message_id = $1 AND channel = $2 AND attempts = $3 AND status = 'pending'`,
          [work.message_id, work.channel, work.attempt, delayMs / 1000, reason],
        );
        this.logger.info({ message_id: work.message_id, channel: work.channel, attempt: work.attempt, retry_in_ms: Math.round(delayMs), reason }, 'delivery failed, will retry');
      }
    }
  }

  private async deadLetter(work: ChannelWork, reason: string): Promise<void> {
    await this.db.query('INSERT INTO dead_letters (message_id, channel, reason, attempts) VALUES ($1, $2, $3, $4)', [work.message_id, work.channel, reason, work.attempt]);
    metrics.deadLettered.inc({ channel: work.channel });
    this.logger.warn({ message_id: work.message_id, channel: work.channel, attempts: work.attempt, reason }, 'delivery dead-lettered');
    await this.publish([
      { topic: STATUS_TOPIC, key: work.message_id, value: { message_id: work.message_id, channel: work.channel, status: 'failed', error: reason } satisfies StatusEvent },
      { topic: DEAD_LETTER_TOPIC, key: work.message_id, value: { message_id: work.message_id, channel: work.channel, reason, attempts: work.attempt } },
    ]);
  }

  /** Applies channel delivery reports: monotonic per channel, then the message's aggregate status. */
  async applyStatuses(records: LogRecord[]): Promise<void> {
    await withBatchSpans('status.apply', records, { keyOf: messageIdOf, parentOf: traceparentOf }, () => this.applyStatusBatch(records.map((r) => r.value as StatusEvent)), { kind: SpanKind.CONSUMER });
  }

  /**
   * Records a batch of channel outcomes in one transaction: a fixed number of statements however
   * many events, so the status consumer keeps up with the connectors (a backlog here would let
   * claimed deliveries outlive their lease and go out twice).
   */
  private async applyStatusBatch(events: StatusEvent[]): Promise<void> {
    // The log may repeat an event; per message and channel the last one counts.
    const latest = [...new Map(events.map((e) => [`${e.message_id}:${e.channel}`, e])).values()];
    const applied = await this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE message_channels mc SET status = e.status, error = e.error, external_id = COALESCE(e.external_id, mc.external_id), updated_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS e(message_id, channel, status, error, external_id), messages m
          WHERE mc.message_id = e.message_id AND mc.channel = e.channel AND mc.status IN ('pending', 'sent') AND m.id = mc.message_id
         RETURNING mc.message_id, mc.channel, mc.status, mc.error, m.conversation_id, m.seq, m.sender_id, mc.updated_at`,
        [latest.map((e) => e.message_id), latest.map((e) => e.channel), latest.map((e) => e.status), latest.map((e) => e.error ?? null), latest.map((e) => e.external_id ?? null)],
      );
      if (rows.length === 0) return [];
      await tx.query(
        'INSERT INTO message_status_history (message_id, status, channel, detail) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])',
        [rows.map((r) => r.message_id), rows.map((r) => r.status), rows.map((r) => r.channel), rows.map((r) => r.error ?? null)],
      );
      const changes = await settle(tx, { messageIds: [...new Set(rows.map((r) => String(r.message_id)))] });
      // Under the settle lock, like every tick of the conversation (see announce); by conversation and seq.
      const ordered = [...rows].sort((a, b) => Number(a.conversation_id) - Number(b.conversation_id) || Number(a.seq) - Number(b.seq));
      await Promise.all(
        ordered.map((r) =>
          this.notify.toUsers([Number(r.sender_id)], 'message.status', {
            message_id: String(r.message_id), conversation_id: Number(r.conversation_id), seq: Number(r.seq), status: r.status as StatusEvent['status'],
            channel: r.channel as ExternalChannel, at: iso(r.updated_at), ...(r.error ? { error: String(r.error) } : {}),
          }),
        ),
      );
      await announce(this.notify, changes);
      return rows;
    }, 'apply-statuses');
    for (const r of applied) metrics.channelDeliveries.inc({ channel: String(r.channel), status: String(r.status) });
  }


  /**
   * Hands out deliveries that are due: retries whose backoff elapsed and claims whose lease
   * expired (a crashed connector, or a wake-up lost with a non-durable log). With `ignoreLeases`
   * (start-up of a single embedded process) every pending delivery is handed out at once.
   */
  async dispatchDue(limit: number, ignoreLeases = false): Promise<number> {
    const due = await this.db.query(
      `UPDATE message_channels SET next_attempt_at = now() + make_interval(secs => $2)
        WHERE (message_id, channel) IN (
          SELECT message_id, channel FROM message_channels WHERE status = 'pending' AND (next_attempt_at <= now() OR $3)
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING message_id, channel, attempts`,
      [limit, this.settings.leaseMs / 1000, ignoreLeases],
    );
    if (due.length > 0) {
      await this.publish(due.map((d) => ({ topic: channelTopic(d.channel as ExternalChannel), key: String(d.message_id), value: { message_id: String(d.message_id), channel: d.channel as ExternalChannel, attempt: Number(d.attempts) + 1 } })));
    }
    return due.length;
  }

  /**
   * Re-publishes accepted messages that were never routed (their event was lost with a
   * non-durable log, or is stuck). `olderThanMs` 0 takes all of them.
   */
  async recoverUnrouted(olderThanMs: number, limit: number): Promise<number> {
    const rows = await this.db.query(
      `SELECT id, conversation_id, seq FROM messages WHERE routed_at IS NULL AND created_at <= now() - make_interval(secs => $1)
        ORDER BY conversation_id, seq LIMIT $2`,
      [olderThanMs / 1000, limit],
    );
    if (rows.length > 0) {
      await this.publish(rows.map((r) => ({ topic: 'messages', key: String(r.conversation_id), value: { message_id: String(r.id), conversation_id: Number(r.conversation_id), seq: Number(r.seq) } })));
    }
    return rows.length;
  }

  /** Samples the backlog gauges (outbox, dead letters). */
  async sampleBacklog(): Promise<void> {
    const [row] = await this.db.query(
      `SELECT (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS outbox, (SELECT count(*)::int FROM dead_letters WHERE replayed_at IS NULL) AS dlq`,
    );
    metrics.outboxBacklog.set(Number(row.outbox));
    metrics.dlqSize.set(Number(row.dlq));
  }

  /**
   * Deletes outbox rows published more than `olderThanMs` ago, at most `limit` per call (the
   * outbox is a hand-over table, not a history); returns how many.
   */
  async pruneOutbox(olderThanMs: number, limit: number): Promise<number> {
    const rows = await this.db.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1) ORDER BY id LIMIT $2)
       RETURNING id`,
      [olderThanMs / 1000, limit],
    );
    return rows.length;
  }

  /** Records published inside a span carry its trace context unless they bring their own. */
  private async publish(records: LogRecord[]): Promise<void> {
    const headers = currentTraceHeaders();
    if (headers) records = records.map((r) => (r.headers ? r : { ...r, headers }));
    await this.log.publish(records);
    for (const r of records) metrics.eventsPublished.inc({ topic: r.topic });
  }
}

const messageIdOf = (r: LogRecord) => String((r.value as { message_id: string }).message_id);
const isExternal = (c: string): c is ExternalChannel => (CHANNELS as readonly string[]).includes(c);

