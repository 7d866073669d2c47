/**
 * Changes of a message that its external channels must hear about (edits, deletions, reactions):
 * recorded in the transaction that makes the change, one row per channel, and handed to the
 * channel's connector through the outbox like a send (src/app/delivery/change-sender.ts).
 */
import type { Sql } from '../ports/database.ts';
import type { ExternalChannel } from '../domain/message.ts';
import { channelTopic, type ChannelWork } from '../domain/log-topics.ts';
import { currentTraceHeaders } from '../tracing.ts';

const traceHeaders = () => {
  const headers = currentTraceHeaders();
  return headers ? JSON.stringify(headers) : null;
};

export type ChannelChangeKind = 'edit' | 'delete' | 'reaction';

/**
 * Queues `kind` for each of `channels`. The first hand-out goes through the outbox (durable with
 * the change); the row's lease-long `next_attempt_at` lets the scheduler hand it out again if that
 * is lost. A reaction carries no emoji: the connector sets our reaction to what it is when it runs.
 */
export async function recordChannelChanges(
  tx: Sql,
  change: { messageId: string; channels: readonly ExternalChannel[]; kind: ChannelChangeKind; content?: string; leaseMs: number },
): Promise<void> {
  if (change.channels.length === 0) return;
  const rows = await tx.query(
    `INSERT INTO message_channel_changes (message_id, channel, kind, content, next_attempt_at)
     SELECT $1, c, $3, $4, now() + make_interval(secs => $5) FROM unnest($2::text[]) WITH ORDINALITY AS x(c, n) ORDER BY n
     RETURNING id, channel`,
    [change.messageId, change.channels, change.kind, change.content ?? null, change.leaseMs / 1000],
  );
  const work = rows.map((r): ChannelWork => ({ message_id: change.messageId, channel: r.channel as ExternalChannel, attempt: 1, change_id: Number(r.id) }));
  await tx.query(`INSERT INTO outbox (topic, key, payload, headers) SELECT t, $2, p, $4::jsonb FROM unnest($1::text[], $3::jsonb[]) AS w(t, p)`, [
    work.map((w) => channelTopic(w.channel)),
    change.messageId,
    work.map((w) => JSON.stringify(w)),
    traceHeaders(),
  ]);
}
