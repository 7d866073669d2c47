/** Stage 2: an accepted message is handed to its targets — internal members, and a work item per external channel. */
import type { Database } from '../../ports/database.ts';
import type { EventLog, LogRecord } from '../../ports/event-log.ts';
import { CHANNELS, type ExternalChannel } from '../../domain/message.ts';
import { channelTopic, type ChannelWork, type LogTopics } from '../../domain/log-topics.ts';
import type { Notifier } from '../notify.ts';
import { announce, recordMoves, settle } from '../settle.ts';
import { SpanKind, traceparentOf, withBatchSpans, type TraceHeaders } from '../../tracing.ts';
import { publishTraced } from './publish-traced.ts';

export class MessageRouter {
  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    private readonly notify: Notifier,
    /** How long a new channel delivery waits before the scheduler hands it out again (its lease). */
    private readonly leaseMs: number,
  ) {}

  /** Routes accepted messages: internal members are handed the message, external channels get work items. */
  async route(records: LogRecord<LogTopics, 'messages'>[]): Promise<void> {
    await withBatchSpans(
      'message.route',
      records,
      { keyOf: (r: LogRecord<LogTopics, 'messages'>) => r.value.message_id, parentOf: traceparentOf },
      (headersFor) => this.routeBatch(records, headersFor),
      { kind: SpanKind.CONSUMER },
    );
  }

  /** `headersFor(messageId)`: the trace context its work items continue. */
  private async routeBatch(records: LogRecord<LogTopics, 'messages'>[], headersFor: (messageId: string) => TraceHeaders | undefined): Promise<void> {
    const ids = [...new Set(records.map((r) => r.value.message_id))];
    const work = await this.db.transaction(async (tx) => {
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
          [work.map((w) => w.message_id), work.map((w) => w.channel), this.leaseMs / 1000],
        );
      }
      const sent = await recordMoves(tx, routed);
      // Then whatever cursors already passed (fast-path acks) may move them further.
      await announce(this.notify, [...sent, ...(await settle(tx, { messageIds: routed.map((m) => String(m.id)) }))]);
      return work;
    }, 'route-messages');
    await publishTraced(
      this.log,
      work.map((w) => ({ topic: channelTopic(w.channel), key: w.message_id, value: w, headers: headersFor(w.message_id) })),
    );
  }
}

const isExternal = (c: string): c is ExternalChannel => (CHANNELS as readonly string[]).includes(c);
