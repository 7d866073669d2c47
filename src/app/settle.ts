/** Settlement: the aggregate status routed messages have earned, computed for a whole batch at once. */
import type { Sql } from '../ports/database.ts';
import { aggregateStatus, type StatusInputs } from '../domain/aggregate-status.ts';
import { canTransition, type MessageStatus } from '../domain/message.ts';
import { metrics } from '../metrics.ts';
import type { Notifier } from './notify.ts';
import { hiddenUpToSql } from './membership.ts';
import { iso } from './time.ts';
import { recordWebhookEvents, type WebhookEventInput } from './webhooks/record.ts';

export interface StatusChange {
  message_id: string;
  conversation_id: number;
  seq: number;
  status: MessageStatus;
  at: string;
  createdAt: number;
  senderId: number;
}

/** Messages to look at: by id, or the seqs a member's cursor just passed (from, to]. */
export type SettleScope = { messageIds: string[] } | { ranges: { conversationId: number; fromSeq: number; toSeq: number }[] };

const COLUMNS = 'm.id, m.conversation_id, m.seq, m.status, m.sender_id, m.channels, m.created_at';
const UNSETTLED = `m.routed_at IS NOT NULL AND m.status IN ('sent', 'delivered')`;

/**
 * Recomputes the status of routed, not yet final messages in `scope` and stores every forward
 * transition with its history row. A fixed number of statements per call, whatever the batch size.
 */
export async function settle(tx: Sql, scope: SettleScope): Promise<StatusChange[]> {
  await lockConversations(tx, scope);
  const candidates =
    'messageIds' in scope
      ? scope.messageIds.length === 0
        ? []
        : await tx.query(`SELECT ${COLUMNS} FROM messages m WHERE m.id = ANY($1::uuid[]) AND ${UNSETTLED}`, [scope.messageIds])
      : scope.ranges.length === 0
        ? []
        : await tx.query(
            `SELECT ${COLUMNS} FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS r(c, lo, hi)
               JOIN messages m ON m.conversation_id = r.c AND m.seq > r.lo AND m.seq <= r.hi WHERE ${UNSETTLED}`,
            [scope.ranges.map((r) => r.conversationId), scope.ranges.map((r) => r.fromSeq), scope.ranges.map((r) => r.toSeq)],
          );
  if (candidates.length === 0) return [];
  const conversationIds = [...new Set(candidates.map((c) => Number(c.conversation_id)))];
  const [members, channelRows] = [
    await tx.query(
      `SELECT m.conversation_id, m.user_id, m.delivered_seq, m.read_seq, ${hiddenUpToSql()} AS hidden_up_to
         FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.conversation_id = ANY($1::bigint[])`,
      [conversationIds],
    ),
    await tx.query('SELECT message_id, status FROM message_channels WHERE message_id = ANY($1::uuid[])', [candidates.map((c) => c.id)]),
  ];
  const membersOf = groupBy(members, (m) => Number(m.conversation_id));
  const channelsOf = groupBy(channelRows, (r) => String(r.message_id));

  const moves: { id: string; from: MessageStatus; to: MessageStatus; row: Record<string, unknown> }[] = [];
  for (const c of candidates) {
    const senderId = Number(c.sender_id);
    const next = aggregateStatus({
      seq: Number(c.seq),
      hasInternal: (c.channels as string[]).includes('internal'),
      recipients: (membersOf.get(Number(c.conversation_id)) ?? [])
        // Members who joined a `joined` group after the message never see it: not its recipients.
        .filter((m) => Number(m.user_id) !== senderId && Number(m.hidden_up_to) < Number(c.seq))
        .map((m) => ({ deliveredSeq: Number(m.delivered_seq), readSeq: Number(m.read_seq) })),
      channels: (channelsOf.get(String(c.id)) ?? []).map((r) => r.status) as StatusInputs['channels'],
    });
    const current = c.status as MessageStatus;
    if (canTransition(current, next)) moves.push({ id: String(c.id), from: current, to: next, row: c });
  }
  return applyMoves(tx, moves);
}

// Settlement of one conversation is serialised (lock held until commit). Each writer (router,
// status worker, ack, read) changes its input first and settles after: without the lock, two
// concurrent writers each read the other's input before it committed, both conclude "not yet",
// and the message stays 'sent' forever. With it, the second settles after the first committed,
// in a fresh snapshot that holds both changes. Locks are taken in conversation order (no deadlocks).
const SETTLE_LOCK = 4_242_003;

async function lockConversations(tx: Sql, scope: SettleScope): Promise<void> {
  if ('messageIds' in scope) {
    if (scope.messageIds.length === 0) return;
    await tx.query(
      `SELECT pg_advisory_xact_lock($1, (c % 2147483647)::int) FROM (SELECT DISTINCT conversation_id AS c FROM messages WHERE id = ANY($2::uuid[]) ORDER BY 1) s`,
      [SETTLE_LOCK, scope.messageIds],
    );
  } else if (scope.ranges.length > 0) {
    await tx.query(`SELECT pg_advisory_xact_lock($1, (c % 2147483647)::int) FROM (SELECT DISTINCT c FROM unnest($2::bigint[]) AS c ORDER BY 1) s`, [
      SETTLE_LOCK,
      scope.ranges.map((r) => r.conversationId),
    ]);
  }
}

/** Moves messages forward if they are still at their `from` status; returns the moves that happened. */
export async function applyMoves(
  tx: Sql,
  moves: { id: string; from: MessageStatus; to: MessageStatus; row: Record<string, unknown> }[],
): Promise<StatusChange[]> {
  if (moves.length === 0) return [];
  const updated = await tx.query(
    `UPDATE messages m SET status = u.next, status_at = now() FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(id, prev, next)
      WHERE m.id = u.id AND m.status = u.prev RETURNING m.id, m.status, m.status_at`,
    [moves.map((m) => m.id), moves.map((m) => m.from), moves.map((m) => m.to)],
  );
  const byId = new Map(moves.map((m) => [m.id, m.row]));
  return recordMoves(
    tx,
    updated.map((u) => ({ ...byId.get(String(u.id)), id: u.id, status: u.status, status_at: u.status_at })),
  );
}

/** Writes the history rows of messages that just moved (rows with their new status and status_at) and describes the changes. */
export async function recordMoves(tx: Sql, moved: Record<string, unknown>[]): Promise<StatusChange[]> {
  if (moved.length === 0) return [];
  await tx.query('INSERT INTO message_status_history (message_id, status) SELECT * FROM unnest($1::uuid[], $2::text[])', [
    moved.map((m) => m.id),
    moved.map((m) => m.status),
  ]);
  const changes = moved.map((m) => ({
    message_id: String(m.id),
    conversation_id: Number(m.conversation_id),
    seq: Number(m.seq),
    status: m.status as MessageStatus,
    at: iso(m.status_at),
    createdAt: new Date(m.created_at as string).getTime(),
    senderId: Number(m.sender_id),
  }));
  await recordWebhookEvents(tx, statusEvents(changes));
  return changes;
}

/**
 * Tells the sender's devices about settled changes and counts them. Ticks are the sender's
 * business; other members learn about reads through `conversation.read`.
 *
 * Called at the end of the settling transaction, while it holds the conversation's settle lock:
 * settlements of one conversation run one after another even across processes (router, status
 * worker, the ack path of any API instance), and so do their announcements, so a sender sees each
 * conversation's ticks in seq order. Should the commit fail after this, the input (an ack, a routed
 * record, a status event) is retried and settles again; a client may have seen the tick early.
 */
export async function announce(notify: Notifier, changes: StatusChange[]): Promise<void> {
  const now = Date.now();
  // UPDATE … RETURNING yields rows in no particular order; clients get each conversation's events by seq.
  const rank: Record<string, number> = { accepted: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
  const ordered = [...changes].sort((a, b) => a.conversation_id - b.conversation_id || a.seq - b.seq || rank[a.status] - rank[b.status]);
  for (const c of ordered) {
    metrics.messageStatus.inc({ status: c.status });
    metrics.pipelineLatency.observe({ status: c.status }, Math.max(0, now - c.createdAt) / 1000);
  }
  await Promise.all(
    ordered.map((c) =>
      notify.toUsers([c.senderId], 'message.status', { message_id: c.message_id, conversation_id: c.conversation_id, seq: c.seq, status: c.status, at: c.at }),
    ),
  );
}

/** `message.status` webhook events in each conversation's order (UPDATE … RETURNING has none). */
function statusEvents(changes: StatusChange[]): WebhookEventInput[] {
  const rank: Record<string, number> = { accepted: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
  return [...changes]
    .sort((a, b) => a.conversation_id - b.conversation_id || a.seq - b.seq || rank[a.status] - rank[b.status])
    .map((c) => ({
      type: 'message.status',
      conversationId: c.conversation_id,
      data: { message_id: c.message_id, conversation_id: c.conversation_id, seq: c.seq, status: c.status, at: c.at },
    }));
}

export function groupBy<T, K>(items: T[], key: (t: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}
