/** Stage 4: channel outcomes move each delivery forward, then the message's aggregate status. */
import type { Database } from '../../ports/database.ts';
import type { LogRecord } from '../../ports/event-log.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import type { ChannelOutcome, LogTopics } from '../../domain/log-topics.ts';
import { metrics } from '../../metrics.ts';
import type { Notifier } from '../notify.ts';
import { announce, settle } from '../settle.ts';
import { iso } from '../conversations.ts';
import { SpanKind, traceparentOf, withBatchSpans } from '../../tracing.ts';

export class StatusApplier {
  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
  ) {}

  /** Applies channel delivery reports: monotonic per channel, then the message's aggregate status. */
  async apply(records: LogRecord<LogTopics, 'status'>[]): Promise<void> {
    await withBatchSpans('status.apply', records, { keyOf: (r: LogRecord<LogTopics, 'status'>) => r.value.message_id, parentOf: traceparentOf }, () => this.applyBatch(records.map((r) => r.value)), { kind: SpanKind.CONSUMER });
  }

  /**
   * Records a batch of channel outcomes in one transaction: a fixed number of statements however
   * many events, so the status consumer keeps up with the connectors (a backlog here would let
   * claimed deliveries outlive their lease and go out twice).
   */
  private async applyBatch(events: ChannelOutcome[]): Promise<void> {
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
            message_id: String(r.message_id), conversation_id: Number(r.conversation_id), seq: Number(r.seq), status: r.status as ChannelOutcome['status'],
            channel: r.channel as ExternalChannel, at: iso(r.updated_at), ...(r.error ? { error: String(r.error) } : {}),
          }),
        ),
      );
      await announce(this.notify, changes);
      return rows;
    });
    for (const r of applied) metrics.channelDeliveries.inc({ channel: String(r.channel), status: String(r.status) });
  }
}
