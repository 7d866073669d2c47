/** Stage 1 of the pipeline: the transactional outbox → the event log. */
import type { Database } from '../../ports/database.ts';
import type { EventLog, LogRecord } from '../../ports/event-log.ts';
import { publishTraced } from './publish-traced.ts';

// Any constant shared by relays: only one relay publishes at a time, which keeps per-key order.
const RELAY_LOCK = 4_242_002;

export class OutboxRelay {
  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
  ) {}

  /** Publishes up to `limit` outbox rows in id order; returns how many. Rows are marked only after the log accepted them. */
  async relay(limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      // Published rows leave dead entries in the partial index until VACUUM; a bitmap scan reads
      // all of them every time, a plain index scan marks them dead once and skips them after.
      const [lock] = await tx.query("SELECT pg_try_advisory_xact_lock($1) AS ok, set_config('enable_bitmapscan', 'off', true)", [RELAY_LOCK]);
      if (!lock.ok) return 0;
      const rows = await tx.query('SELECT id, topic, key, payload, headers FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1', [limit]);
      if (rows.length === 0) return 0;
      // The outbox holds what messages.ts wrote for these topics (see LogTopics).
      await publishTraced(
        this.log,
        rows.map(
          (r) => ({ topic: r.topic, key: String(r.key), value: r.payload, headers: (r.headers as Record<string, string> | null) ?? undefined }) as LogRecord,
        ),
      );
      await tx.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.length;
    }, 'relay-outbox');
  }
}
