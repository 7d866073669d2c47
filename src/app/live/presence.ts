/**
 * Presence: a user is online while they hold a live socket on any API instance (the socket
 * registry counts them), offline otherwise. `last_seen_at` is written when the last socket closes
 * (and when the first one opens, so that after an instance crash — whose sockets expire without
 * anyone closing them — it is at least when the user connected). Only transitions are announced,
 * as `presence` frames to the users who share a conversation with the user.
 *
 * Hiding last-seen hides the time only: others still see online/offline (they would see it anyway
 * from typing and read receipts), never `last_seen_at`, in frames or from the API. The user
 * themselves always sees their own.
 */
import { notFound } from '../../domain/errors.ts';
import type { Database } from '../../ports/database.ts';
import type { SocketRegistry } from '../../ports/presence.ts';
import type { Logger } from '../logger.ts';
import type { Notifier } from '../notify.ts';

export interface UserPresence {
  user_id: number;
  status: 'online' | 'offline';
  /** Absent while online, when never connected, or when the user hides it. */
  last_seen_at?: string;
}

export interface PresenceSettings {
  hide_last_seen: boolean;
}

export class Presence {
  /** Announcements per user run one after another on this instance, so online/offline keep their order. */
  private readonly queues = new Map<number, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly sockets: SocketRegistry,
    private readonly notifier: Notifier,
    private readonly log: Logger,
  ) {}

  /** The user's first socket anywhere opened. */
  cameOnline(userId: number): void {
    this.inOrder(userId, async () => {
      await this.db.query('UPDATE users SET last_seen_at = now() WHERE id = $1', [userId]);
      // Gone again meanwhile: its offline announcement follows in this queue.
      if ((await this.sockets.count(userId)) === 0) return;
      await this.announce(userId, { user_id: userId, status: 'online' });
    });
  }

  /** The user's last socket anywhere closed. */
  wentOffline(userId: number): void {
    this.inOrder(userId, async () => {
      const rows = await this.db.query('UPDATE users SET last_seen_at = now() WHERE id = $1 RETURNING last_seen_at, hide_last_seen', [userId]);
      // Back already (another socket, maybe on another instance): nobody saw it leave.
      if (!rows[0] || (await this.sockets.count(userId)) > 0) return;
      const lastSeen = rows[0].hide_last_seen ? {} : { last_seen_at: new Date(rows[0].last_seen_at as string).toISOString() };
      await this.announce(userId, { user_id: userId, status: 'offline', ...lastSeen });
    });
  }

  /** Another user's presence, for a caller who shares a conversation with them (404 otherwise; anyone may ask about themselves). */
  async get(callerId: number, userId: number): Promise<UserPresence> {
    const rows = await this.db.query(
      `SELECT u.last_seen_at, u.hide_last_seen FROM users u
        WHERE u.id = $2::bigint AND ($1::bigint = $2::bigint OR EXISTS (
          SELECT 1 FROM members mine JOIN members theirs ON theirs.conversation_id = mine.conversation_id
           WHERE mine.user_id = $1 AND theirs.user_id = $2))`,
      [callerId, userId],
    );
    // A stranger and a missing user look the same: presence must not reveal who exists.
    if (!rows[0]) throw notFound('user-not-found', `User ${userId} does not exist or shares no conversation with you`);
    if ((await this.sockets.count(userId)) > 0) return { user_id: userId, status: 'online' };
    const isVisible = rows[0].last_seen_at !== null && (callerId === userId || !rows[0].hide_last_seen);
    return { user_id: userId, status: 'offline', ...(isVisible ? { last_seen_at: new Date(rows[0].last_seen_at as string).toISOString() } : {}) };
  }

  async settings(userId: number): Promise<PresenceSettings> {
    const rows = await this.db.query('SELECT hide_last_seen FROM users WHERE id = $1', [userId]);
    if (!rows[0]) throw notFound('user-not-found', `User ${userId} does not exist`);
    return { hide_last_seen: Boolean(rows[0].hide_last_seen) };
  }

  async updateSettings(userId: number, changes: Partial<PresenceSettings>): Promise<PresenceSettings> {
    if (changes.hide_last_seen !== undefined) await this.db.query('UPDATE users SET hide_last_seen = $2 WHERE id = $1', [userId, changes.hide_last_seen]);
    return this.settings(userId);
  }

  private async announce(userId: number, event: UserPresence): Promise<void> {
    const rows = await this.db.query(
      `SELECT DISTINCT theirs.user_id FROM members mine JOIN members theirs ON theirs.conversation_id = mine.conversation_id
        WHERE mine.user_id = $1 AND theirs.user_id <> $1`,
      [userId],
    );
    await this.notifier.toUsers(
      rows.map((r) => Number(r.user_id)),
      'presence',
      event,
    );
  }

  private inOrder(userId: number, task: () => Promise<void>): void {
    const run = (this.queues.get(userId) ?? Promise.resolve())
      .then(task)
      .catch((e: unknown) => this.log.warn({ err: e, user_id: userId }, 'presence update failed'));
    this.queues.set(userId, run);
    void run.finally(() => {
      if (this.queues.get(userId) === run) this.queues.delete(userId);
    });
  }
}
