/** Backlog gauges and pruning of the hand-over table. */
import type { Database } from '../../ports/database.ts';
import { metrics } from '../../metrics.ts';

export class Housekeeping {
  constructor(private readonly db: Database) {}

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
}
