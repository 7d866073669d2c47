/**
 * Stage `push`: a Web Push notification for each accepted message to the members who cannot see
 * it live: not the sender, not muted, not already past it (read or notified), and without a live
 * socket on any instance. At most once per member and message: the member's `notified_seq` is
 * claimed before sending, so a record the log repeats notifies nobody twice, and a send that fails
 * is logged and counted, not retried (a notification late by minutes is worse than none).
 */
import type { Database } from '../../ports/database.ts';
import type { LogRecord } from '../../ports/event-log.ts';
import type { SocketRegistry } from '../../ports/presence.ts';
import type { PushSender, PushTarget } from '../../ports/push-sender.ts';
import type { LogTopics } from '../../domain/log-topics.ts';
import type { Payload } from '../../domain/message.ts';
import { noticeOf, pushTopicOf } from '../../domain/push.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../../metrics.ts';

/** A day: a chat notification older than that is noise (TTL header). */
export const PUSH_TTL_SECONDS = 24 * 3600;
/** Older messages notify nobody: a new `push` consumer group starts at the log's beginning. */
const STALE_AFTER_SECONDS = 3600;
/** Requests to push services in flight at once per message. */
const CONCURRENCY = 8;

export class PushDispatcher {
  constructor(
    private readonly db: Database,
    private readonly sockets: SocketRegistry,
    private readonly sender: PushSender,
    private readonly logger: Logger,
  ) {}

  async dispatch(records: LogRecord<LogTopics, 'messages'>[]): Promise<void> {
    const ids = [...new Set(records.map((r) => r.value.message_id))];
    if (ids.length === 0) return;
    const messages = await this.db.query(
      `SELECT msg.id, msg.conversation_id, msg.seq, msg.sender_id, msg.payload, c.type, c.name,
              COALESCE(u.display_name, ct.display_name, 'Someone') AS sender_name,
              -- Who could get one (subscribed, not the sender, not muted, not past it): most
              -- messages have nobody, and then cost no statement of their own.
              ARRAY(SELECT DISTINCT m.user_id FROM members m JOIN push_subscriptions s ON s.user_id = m.user_id
                     WHERE m.conversation_id = msg.conversation_id AND m.user_id IS DISTINCT FROM msg.sender_id
                       AND m.notified_seq < msg.seq AND m.read_seq < msg.seq AND (m.muted_until IS NULL OR m.muted_until <= now())) AS candidates
         FROM messages msg JOIN conversations c ON c.id = msg.conversation_id
         LEFT JOIN users u ON u.id = msg.sender_id LEFT JOIN contacts ct ON ct.id = msg.sender_contact_id
        WHERE msg.id = ANY($1::uuid[]) AND msg.created_at > now() - make_interval(secs => $2)
        ORDER BY msg.conversation_id, msg.seq`,
      [ids, STALE_AFTER_SECONDS],
    );
    for (const m of messages) {
      const candidates = (m.candidates as (string | number)[]).map(Number);
      if (candidates.length === 0) continue;
      const notice = noticeOf({
        conversationId: Number(m.conversation_id),
        messageId: String(m.id),
        seq: Number(m.seq),
        senderName: String(m.sender_name),
        conversationName: m.type === 'group' ? ((m.name as string | null) ?? null) : null,
        payload: (typeof m.payload === 'string' ? JSON.parse(m.payload) : m.payload) as Payload,
      });
      await this.notify(notice.conversation_id, notice.seq, candidates, JSON.stringify(notice));
    }
  }

  /** Notifies those of `candidates` who are offline and not yet notified of `seq` (the claim decides). */
  private async notify(conversationId: number, seq: number, candidates: number[], payload: string): Promise<void> {
    const offline = await this.offlineAmong(candidates);
    if (offline.length === 0) return;
    const claimed = await this.db.query(
      'UPDATE members SET notified_seq = $3 WHERE conversation_id = $1 AND user_id = ANY($2::bigint[]) AND notified_seq < $3 RETURNING user_id',
      [conversationId, offline, seq],
    );
    if (claimed.length === 0) return;
    const rows = await this.db.query('SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ANY($1::bigint[])', [
      claimed.map((r) => Number(r.user_id)),
    ]);
    const targets = rows.map((r) => ({ id: String(r.id), endpoint: String(r.endpoint), p256dh: String(r.p256dh), auth: String(r.auth) }));
    const topic = pushTopicOf(conversationId);
    await inBatches(targets, CONCURRENCY, (t) => this.sendOne(t, { payload, ttlSeconds: PUSH_TTL_SECONDS, topic, urgency: 'normal' }));
  }

  /** Users without a live socket; when the registry does not answer, everyone (a duplicate beats a miss). */
  private async offlineAmong(userIds: number[]): Promise<number[]> {
    try {
      const online = await this.sockets.onlineAmong(userIds);
      return userIds.filter((id) => !online.has(id));
    } catch (e) {
      this.logger.warn({ err: e }, 'socket registry unavailable: notifying without knowing who is online');
      return userIds;
    }
  }

  private async sendOne(target: PushTarget & { id: string }, message: Parameters<PushSender['send']>[1]): Promise<void> {
    try {
      const outcome = await this.sender.send(target, message);
      metrics.pushNotifications.inc({ outcome });
      // The browser unsubscribed or the subscription expired: it will never accept another message.
      if (outcome === 'gone') await this.db.query('DELETE FROM push_subscriptions WHERE id = $1 AND endpoint = $2', [target.id, target.endpoint]);
    } catch (e) {
      metrics.pushNotifications.inc({ outcome: 'failed' });
      this.logger.warn({ err: e, subscription_id: target.id }, 'push notification not delivered to the push service');
    }
  }
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}
