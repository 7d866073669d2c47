/** Delivery and read cursors, and the aggregate message status they earn. */
import type { Database, Sql } from '../ports/database.ts';
import { aggregateStatus } from '../domain/aggregate-status.ts';
import { canTransition, type MessageStatus } from '../domain/message.ts';
import { metrics } from '../metrics.ts';
import { requireMember } from './membership.ts';
import type { Notifier } from './notify.ts';
import { iso } from './conversations.ts';

export interface StatusChange {
  message_id: string;
  conversation_id: number;
  seq: number;
  status: MessageStatus;
  at: string;
  createdAt: number;
}

// Bounds the work of one settlement; older unsettled messages are picked up by later ones.
const SETTLE_BATCH = 2000;

/**
 * Recomputes the status of routed, not yet final messages of a conversation up to `upToSeq`
 * (or only `messageIds`) and stores every forward transition with its history row.
 */
export async function settle(tx: Sql, conversationId: number, scope: { upToSeq?: number; messageIds?: string[] }): Promise<StatusChange[]> {
  const byIds = scope.messageIds !== undefined;
  const candidates = await tx.query(
    `SELECT id, seq, status, sender_id, channels, created_at FROM messages
      WHERE conversation_id = $1 AND routed_at IS NOT NULL AND status IN ('sent', 'delivered')
        AND ${byIds ? 'id = ANY($2::uuid[])' : 'seq <= $2'}
      ORDER BY seq LIMIT ${SETTLE_BATCH}`,
    [conversationId, byIds ? scope.messageIds : scope.upToSeq],
  );
  if (candidates.length === 0) return [];
  const members = await tx.query('SELECT user_id, delivered_seq, read_seq FROM members WHERE conversation_id = $1', [conversationId]);
  const channelRows = await tx.query('SELECT message_id, status FROM message_channels WHERE message_id = ANY($1::uuid[])', [candidates.map((c) => c.id)]);
  const channelsOf = new Map<string, string[]>();
  for (const row of channelRows) channelsOf.set(String(row.message_id), [...(channelsOf.get(String(row.message_id)) ?? []), String(row.status)]);

  const changes: StatusChange[] = [];
  for (const c of candidates) {
    const senderId = Number(c.sender_id);
    const next = aggregateStatus({
      seq: Number(c.seq),
      hasInternal: (c.channels as string[]).includes('internal'),
      recipients: members.filter((m) => Number(m.user_id) !== senderId).map((m) => ({ deliveredSeq: Number(m.delivered_seq), readSeq: Number(m.read_seq) })),
      channels: (channelsOf.get(String(c.id)) ?? []) as Parameters<typeof aggregateStatus>[0]['channels'],
    });
    const current = c.status as MessageStatus;
    if (!canTransition(current, next)) continue;
    const change = await applyStatus(tx, String(c.id), current, next);
    if (change) changes.push({ message_id: String(c.id), conversation_id: conversationId, seq: Number(c.seq), status: next, at: change, createdAt: new Date(c.created_at as string).getTime() });
  }
  return changes;
}

/** Moves one message from `from` to `to` if it is still at `from`; returns the time, or undefined if someone else moved it. */
export async function applyStatus(tx: Sql, messageId: string, from: MessageStatus, to: MessageStatus, detail?: string): Promise<string | undefined> {
  const rows = await tx.query(`UPDATE messages SET status = $3, status_at = now() WHERE id = $1 AND status = $2 RETURNING status_at`, [messageId, from, to]);
  if (rows.length === 0) return undefined;
  await tx.query('INSERT INTO message_status_history (message_id, status, detail) VALUES ($1, $2, $3)', [messageId, to, detail ?? null]);
  return iso(rows[0].status_at);
}

/** Counts and fans out settled changes (after commit). */
export function announce(notify: Notifier, changes: StatusChange[]): void {
  const now = Date.now();
  for (const c of changes) {
    metrics.messageStatus.inc({ status: c.status });
    metrics.pipelineLatency.observe({ status: c.status }, Math.max(0, now - c.createdAt) / 1000);
    notify.toConversation(c.conversation_id, 'message.status', { message_id: c.message_id, conversation_id: c.conversation_id, seq: c.seq, status: c.status, at: c.at });
  }
}

export class Receipts {
  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
  ) {}

  /** A device of `userId` received everything up to `seq` (WebSocket `ack`, history fetch). */
  async acknowledge(userId: number, conversationId: number, seq: number): Promise<void> {
    const changes = await this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE members m SET delivered_seq = LEAST($3, c.last_seq), delivered_at = now()
           FROM conversations c WHERE c.id = m.conversation_id AND m.conversation_id = $1 AND m.user_id = $2 AND m.delivered_seq < LEAST($3, c.last_seq)
         RETURNING m.delivered_seq`,
        [conversationId, userId, seq],
      );
      if (rows.length === 0) return [];
      return settle(tx, conversationId, { upToSeq: Number(rows[0].delivered_seq) });
    });
    announce(this.notify, changes);
  }

  /** Moves the caller's read cursor (default: the latest message). */
  async markRead(userId: number, username: string, conversationId: number, upToSeq?: number) {
    const result = await this.db.transaction(async (tx) => {
      const me = await requireMember(tx, conversationId, userId);
      const target = Math.min(upToSeq ?? me.lastSeq, me.lastSeq);
      if (target <= me.readSeq) return { readSeq: me.readSeq, marked: 0, changes: [] as StatusChange[], readAt: undefined };
      const [{ n }] = await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1 AND seq > $2 AND seq <= $3 AND sender_id <> $4',
        [conversationId, me.readSeq, target, userId],
      );
      const [row] = await tx.query(
        `UPDATE members SET read_seq = $3, read_at = now(), delivered_seq = GREATEST(delivered_seq, $3), delivered_at = now()
          WHERE conversation_id = $1 AND user_id = $2 RETURNING read_at`,
        [conversationId, userId, target],
      );
      const changes = await settle(tx, conversationId, { upToSeq: target });
      return { readSeq: target, marked: n, changes, readAt: iso(row.read_at) };
    });
    if (result.readAt) {
      this.notify.toConversation(conversationId, 'conversation.read', { conversation_id: conversationId, user_id: userId, username, read_seq: result.readSeq, read_at: result.readAt });
    }
    announce(this.notify, result.changes);
    return { status: 'success' as const, conversation_id: conversationId, read_seq: result.readSeq, messages_marked_read: result.marked };
  }
}
