import type { Database } from '../ports/database.ts';
import { notFound } from '../domain/errors.ts';

export interface DeadLetter {
  id: number;
  message_id: string;
  channel: string;
  reason: string;
  attempts: number;
  /** The change of the message (edit, deletion, reaction) that failed; null for the delivery itself. */
  change_id: number | null;
  created_at: string;
  replayed_at: string | null;
}

/** The dead-letter queue: inspect and replay failed channel deliveries. */
export class DeadLetters {
  constructor(private readonly db: Database) {}

  async list(options: { includeReplayed?: boolean; limit?: number } = {}): Promise<DeadLetter[]> {
    const rows = await this.db.query(
      `SELECT id, message_id, channel, reason, attempts, change_id, created_at, replayed_at FROM dead_letters ${options.includeReplayed ? '' : 'WHERE replayed_at IS NULL'} ORDER BY id LIMIT $1`,
      [options.limit ?? 100],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      message_id: String(r.message_id),
      channel: String(r.channel),
      reason: String(r.reason),
      attempts: Number(r.attempts),
      change_id: r.change_id === null || r.change_id === undefined ? null : Number(r.change_id),
      created_at: new Date(r.created_at as string).toISOString(),
      replayed_at: r.replayed_at ? new Date(r.replayed_at as string).toISOString() : null,
    }));
  }

  /**
   * Replays dead letters (all open ones when `ids` is empty): the delivery goes back to pending
   * with fresh attempts, and a failed message returns to `sent` — the one backward move allowed.
   * A dead change (edit, deletion, reaction) goes back to pending and runs again.
   */
  async replay(ids: number[]): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE dead_letters SET replayed_at = now() WHERE replayed_at IS NULL ${ids.length ? 'AND id = ANY($1::bigint[])' : ''} RETURNING message_id, channel, change_id`,
        ids.length ? [ids] : [],
      );
      if (ids.length && rows.length === 0) throw notFound('dead-letter-not-found', `No open dead letter with id ${ids.join(', ')}`);
      for (const r of rows) {
        if (r.change_id !== null) {
          await tx.query(
            `UPDATE message_channel_changes SET status = 'pending', attempts = 0, next_attempt_at = now(), error = NULL, updated_at = now() WHERE id = $1`,
            [r.change_id],
          );
          continue;
        }
        await tx.query(
          `UPDATE message_channels SET status = 'pending', attempts = 0, next_attempt_at = now(), error = NULL, updated_at = now() WHERE message_id = $1 AND channel = $2`,
          [r.message_id, r.channel],
        );
        const moved = await tx.query(`UPDATE messages SET status = 'sent', status_at = now() WHERE id = $1 AND status = 'failed' RETURNING id`, [r.message_id]);
        if (moved.length)
          await tx.query(
            `INSERT INTO message_status_history (message_id, status, channel, detail) VALUES ($1, 'sent', $2, 'replayed from dead-letter queue')`,
            [r.message_id, r.channel],
          );
      }
      return rows.length;
    }, 'replay-dead-letters');
  }
}
