/** Delivery and read cursors: receipts move them forward, and settlement turns them into message statuses. */
import type { Database } from '../ports/database.ts';
import { requireMember } from './membership.ts';
import type { Notifier } from './notify.ts';
import { iso } from './time.ts';
import { announce, settle } from './settle.ts';
import { invalid } from '../domain/errors.ts';
import { recordWebhookEvents } from './webhooks/record.ts';

export interface Ack {
  userId: number;
  conversationId: number;
  seq: number;
}

// Acks that arrive within this window are applied in one transaction.
const ACK_FLUSH_MS = 20;

export class Receipts {
  private queued: Ack[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  /**
   * Queues an ack; queued acks are applied together, one batch at a time (no lock races between
   * batches). Throws `invalid-ack` for ids or seqs that are not safe integers, so that nothing one
   * client sends can fail the batch it shares with others.
   */
  queueAck(ack: Ack): void {
    if (!isValidAck(ack)) throw invalid('invalid-ack', 'An ack needs positive ids and a non-negative seq within 2^53-1');
    this.queued.push(ack);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, ACK_FLUSH_MS);
  }

  /** Waits until queued acks are applied (shutdown, tests). */
  async drain(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.flush();
    }
    await this.flushing;
  }

  private flush(): void {
    const batch = this.queued;
    this.queued = [];
    this.flushing = this.flushing.then(() => this.acknowledgeMany(batch)).catch(this.onError);
  }

  /** A device of `userId` received everything up to `seq` (WebSocket `ack`, history fetch). */
  acknowledge(userId: number, conversationId: number, seq: number): Promise<void> {
    return this.acknowledgeMany([{ userId, conversationId, seq }]);
  }

  /**
   * Applies many acks in one transaction (the gateway coalesces them): delivered cursors only move
   * forward and never past the conversation's last message; non-members' acks change nothing.
   * When the batch fails, each ack is retried alone, so one that cannot be applied costs only
   * itself; rejects afterwards with how many were lost (the first failure as `cause`).
   */
  async acknowledgeMany(acks: Ack[]): Promise<void> {
    // One ack per member and conversation: the highest seq.
    const highest = new Map<string, Ack>();
    for (const a of acks) {
      const key = `${a.conversationId}:${a.userId}`;
      if ((highest.get(key)?.seq ?? -1) < a.seq) highest.set(key, a);
    }
    const unique = [...highest.values()].sort((a, b) => a.conversationId - b.conversationId || a.userId - b.userId);
    if (unique.length === 0) return;
    try {
      return await this.apply(unique);
    } catch (e) {
      if (unique.length === 1) throw e;
    }
    const failures: unknown[] = [];
    for (const ack of unique) await this.apply([ack]).catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw new Error(`${failures.length} of ${unique.length} acks could not be applied`, { cause: failures[0] });
  }

  private async apply(unique: Ack[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      const moved = await tx.query(
        `WITH a AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS a(u, conv, seq)),
              old AS (SELECT m.conversation_id, m.user_id, m.delivered_seq AS previous, LEAST(a.seq, c.last_seq) AS target
                        FROM a JOIN members m ON m.user_id = a.u AND m.conversation_id = a.conv JOIN conversations c ON c.id = a.conv
                       WHERE m.delivered_seq < LEAST(a.seq, c.last_seq)
                       ORDER BY m.conversation_id, m.user_id FOR UPDATE OF m)
         UPDATE members m SET delivered_seq = old.target, delivered_at = now() FROM old
          WHERE m.conversation_id = old.conversation_id AND m.user_id = old.user_id
         RETURNING m.conversation_id, old.previous, m.delivered_seq`,
        [unique.map((a) => a.userId), unique.map((a) => a.conversationId), unique.map((a) => a.seq)],
      );
      await announce(
        this.notify,
        await settle(tx, {
          ranges: moved.map((r) => ({ conversationId: Number(r.conversation_id), fromSeq: Number(r.previous), toSeq: Number(r.delivered_seq) })),
        }),
      );
    }, 'apply-acks');
  }

  /** Moves the caller's read cursor (default: the latest message); it never moves backwards. */
  async markRead(userId: number, username: string, conversationId: number, upToSeq?: number): Promise<ReadResult> {
    const result = await this.db.transaction(async (tx) => {
      const me = await requireMember(tx, conversationId, userId);
      const target = Math.min(upToSeq ?? me.lastSeq, me.lastSeq);
      if (target <= me.readSeq) return { readSeq: me.readSeq, marked: 0, readAt: undefined };
      const [{ n }] = await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1 AND seq > $2 AND seq <= $3 AND sender_id IS DISTINCT FROM $4',
        // Messages hidden from the member (history_visibility `joined`) are not theirs to read.
        [conversationId, Math.max(me.readSeq, me.hiddenUpTo), target, userId],
      );
      const [row] = await tx.query(
        `UPDATE members SET read_seq = $3, read_at = now(), delivered_seq = GREATEST(delivered_seq, $3), delivered_at = now()
          WHERE conversation_id = $1 AND user_id = $2 RETURNING read_at`,
        [conversationId, userId, target],
      );
      // Everything this member had not read yet may now be delivered or read.
      await announce(this.notify, await settle(tx, { ranges: [{ conversationId, fromSeq: Math.min(me.readSeq, me.deliveredSeq), toSeq: target }] }));
      const readAt = iso(row.read_at);
      await recordWebhookEvents(tx, [
        { type: 'conversation.read', conversationId, data: { conversation_id: conversationId, user_id: userId, username, read_seq: target, read_at: readAt } },
      ]);
      return { readSeq: target, marked: n, readAt: iso(row.read_at) };
    }, 'mark-read');
    if (result.readAt) {
      this.notify.toConversation(conversationId, 'conversation.read', {
        conversation_id: conversationId,
        user_id: userId,
        username,
        read_seq: result.readSeq,
        read_at: result.readAt,
      });
    }
    return { conversationId, readSeq: result.readSeq, marked: result.marked };
  }
}

/** Where a member's read cursor stands after marking read, and how many messages that marked. */
export interface ReadResult {
  conversationId: number;
  readSeq: number;
  marked: number;
}

const isValidAck = (a: Ack) =>
  Number.isSafeInteger(a.userId) && a.userId > 0 && Number.isSafeInteger(a.conversationId) && a.conversationId > 0 && Number.isSafeInteger(a.seq) && a.seq >= 0;
