/** Stage 4: channel outcomes move each delivery forward, then the message's aggregate status. */
import type { Database } from '../../ports/database.ts';
import type { LogRecord } from '../../ports/event-log.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import type { ChannelOutcome, LogTopics } from '../../domain/log-topics.ts';
import { metrics } from '../../metrics.ts';
import type { Notifier } from '../notify.ts';
import { announce, settle } from '../settle.ts';
import { iso } from '../time.ts';
import { SpanKind, traceparentOf, withBatchSpans } from '../../tracing.ts';
import { canMoveDelivery } from '../../domain/channel-status.ts';

export class StatusApplier {
  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
  ) {}

  /** Applies channel delivery reports: monotonic per channel, then the message's aggregate status. */
  async apply(records: LogRecord<LogTopics, 'status'>[]): Promise<void> {
    await withBatchSpans(
      'status.apply',
      records,
      { keyOf: (r: LogRecord<LogTopics, 'status'>) => r.value.message_id, parentOf: traceparentOf },
      () => this.applyBatch(records.map((r) => r.value)),
      { kind: SpanKind.CONSUMER },
    );
  }

  /**
   * Records a batch of channel outcomes in one transaction: a fixed number of statements however
   * many events, so the status consumer keeps up with the connectors (a backlog here would let
   * claimed deliveries outlive their lease and go out twice).
   */
  private async applyBatch(events: ChannelOutcome[]): Promise<void> {
    // The log may repeat an event; per message and channel the most advanced one counts (a batch
    // may hold 'sent' from the connector and 'read' from the platform's webhook).
    const byDelivery = new Map<string, ChannelOutcome>();
    for (const e of events) {
      const key = `${e.message_id}:${e.channel}`;
      const seen = byDelivery.get(key);
      if (!seen || canMoveDelivery(seen.status, e.status)) byDelivery.set(key, e);
    }
    const latest = [...byDelivery.values()];
    const applied = await this.db.transaction(async (tx) => {
      // Forward only (canMoveDelivery in SQL): a late 'delivered' after 'read' changes nothing, and
      // 'failed' ends only a delivery that has not reached the person.
      const rows = await tx.query(
        `UPDATE message_channels mc SET status = e.status, error = e.error, external_id = COALESCE(e.external_id, mc.external_id),
                provider_code = COALESCE(e.provider_code, mc.provider_code), error_class = COALESCE(e.error_class, mc.error_class), updated_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS e(message_id, channel, status, error, external_id, provider_code, error_class), messages m
          WHERE mc.message_id = e.message_id AND mc.channel = e.channel AND m.id = mc.message_id AND mc.status <> 'failed'
            AND (CASE WHEN e.status = 'failed' THEN mc.status IN ('pending', 'sent')
                      ELSE array_position(ARRAY['pending', 'sent', 'delivered', 'read'], e.status) > array_position(ARRAY['pending', 'sent', 'delivered', 'read'], mc.status) END)
         RETURNING mc.message_id, mc.channel, mc.status, mc.error, mc.provider_code, m.conversation_id, m.seq, m.sender_id, mc.updated_at`,
        [
          latest.map((e) => e.message_id),
          latest.map((e) => e.channel),
          latest.map((e) => e.status),
          latest.map((e) => e.error ?? null),
          latest.map((e) => e.external_id ?? null),
          latest.map((e) => e.provider_code ?? null),
          latest.map((e) => e.error_class ?? null),
        ],
      );
      if (rows.length === 0) return [];
      await tx.query(
        'INSERT INTO message_status_history (message_id, status, channel, detail) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])',
        [
          rows.map((r) => r.message_id),
          rows.map((r) => r.status),
          rows.map((r) => r.channel),
          rows.map((r) => (r.status === 'failed' ? failureDetail(r) : null)),
        ],
      );
      // Changes made while these sends were in flight waited for them (change-sender.ts): due now.
      await tx.query(
        `UPDATE message_channel_changes c SET next_attempt_at = now() FROM unnest($1::uuid[], $2::text[]) AS s(message_id, channel)
          WHERE c.message_id = s.message_id AND c.channel = s.channel AND c.status = 'pending' AND c.attempts = 0`,
        [rows.map((r) => r.message_id), rows.map((r) => r.channel)],
      );
      const changes = await settle(tx, { messageIds: [...new Set(rows.map((r) => String(r.message_id)))] });
      // Under the settle lock, like every tick of the conversation (see announce); by conversation and seq.
      const ordered = [...rows].sort((a, b) => Number(a.conversation_id) - Number(b.conversation_id) || Number(a.seq) - Number(b.seq));
      await Promise.all(
        ordered.map((r) =>
          this.notify.toUsers([Number(r.sender_id)], 'message.status', {
            message_id: String(r.message_id),
            conversation_id: Number(r.conversation_id),
            seq: Number(r.seq),
            status: r.status as ChannelOutcome['status'],
            channel: r.channel as ExternalChannel,
            at: iso(r.updated_at),
            ...(r.error ? { error: String(r.error) } : {}),
          }),
        ),
      );
      await announce(this.notify, changes);
      return rows;
    }, 'apply-statuses');
    for (const r of applied) metrics.channelDeliveries.inc({ channel: String(r.channel), status: String(r.status) });
  }
}

/** The history's words for a failure: the platform's code with its text. */
const failureDetail = (r: Record<string, unknown>) =>
  r.provider_code ? `${String(r.provider_code)}: ${String(r.error ?? '')}` : r.error === null ? null : String(r.error);
