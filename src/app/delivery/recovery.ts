/** The safety nets: work that was lost or stalled is handed out again from what the database knows. */
import type { Database } from '../../ports/database.ts';
import type { EventLog } from '../../ports/event-log.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { MESSAGES_TOPIC, channelTopic } from '../../domain/log-topics.ts';
import { publishTraced } from './publish-traced.ts';

export class Recovery {
  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    /** How long a handed-out delivery may take before it is handed out again. */
    private readonly leaseMs: number,
  ) {}

  /**
   * Hands out deliveries that are due: retries whose backoff elapsed and claims whose lease
   * expired (a crashed connector, or a wake-up lost with a non-durable log). With `ignoreLeases`
   * (start-up of a single embedded process) every pending delivery is handed out at once.
   */
  async dispatchDue(limit: number, ignoreLeases = false): Promise<number> {
    const due = await this.db.query(
      `UPDATE message_channels SET next_attempt_at = now() + make_interval(secs => $2)
        WHERE (message_id, channel) IN (
          SELECT message_id, channel FROM message_channels WHERE status = 'pending' AND (next_attempt_at <= now() OR $3)
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING message_id, channel, attempts`,
      [limit, this.leaseMs / 1000, ignoreLeases],
    );
    await this.handOut(due);
    return due.length + (await this.dispatchDueChanges(limit, ignoreLeases));
  }

  /** The same for changes of sent messages (edits, deletions, reactions): retries, expired leases, and ones woken when their send settled. */
  private async dispatchDueChanges(limit: number, ignoreLeases: boolean): Promise<number> {
    const due = await this.db.query(
      `UPDATE message_channel_changes SET next_attempt_at = now() + make_interval(secs => $2)
        WHERE id IN (SELECT id FROM message_channel_changes WHERE status = 'pending' AND (next_attempt_at <= now() OR $3)
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, message_id, channel, attempts`,
      [limit, this.leaseMs / 1000, ignoreLeases],
    );
    await this.handOut(due);
    return due.length;
  }

  /** Publishes each due row to its channel's topic: a send, or with `id` a change (`change_id`). */
  private async handOut(due: Record<string, unknown>[]): Promise<void> {
    await publishTraced(
      this.log,
      due.map((d) => {
        const channel = d.channel as ExternalChannel;
        const attempt = Number(d.attempts) + 1;
        return {
          topic: channelTopic(channel),
          key: String(d.message_id),
          value: { message_id: String(d.message_id), channel, attempt, ...(d.id === undefined ? {} : { change_id: Number(d.id) }) },
        };
      }),
    );
  }

  /**
   * Re-publishes accepted messages that were never routed (their event was lost with a
   * non-durable log, or is stuck). `olderThanMs` 0 takes all of them.
   */
  async recoverUnrouted(olderThanMs: number, limit: number): Promise<number> {
    const rows = await this.db.query(
      `SELECT id, conversation_id, seq FROM messages WHERE routed_at IS NULL AND created_at <= now() - make_interval(secs => $1)
        ORDER BY conversation_id, seq LIMIT $2`,
      [olderThanMs / 1000, limit],
    );
    await publishTraced(
      this.log,
      rows.map((r) => ({
        topic: MESSAGES_TOPIC,
        key: String(r.conversation_id),
        value: { message_id: String(r.id), conversation_id: Number(r.conversation_id), seq: Number(r.seq) },
      })),
    );
    return rows.length;
  }
}
