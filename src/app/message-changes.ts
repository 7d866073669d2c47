/**
 * Changes to sent messages: reactions, edits (previous versions kept for the sender), deletion for
 * everyone (a tombstone), and catching up on them. Each change takes the conversation's next
 * `last_version` and stamps it on the message, in the transaction that makes the change: the
 * conversation row's lock orders versions like seqs, so a reader never sees version n+1 before n.
 */
import type { Database, Sql } from '../ports/database.ts';
import { conflict, forbidden, invalid, notFound, unprocessable } from '../domain/errors.ts';
import { asRole, type Role } from '../domain/group.ts';
import { CHANNELS, previewOf, type ExternalChannel, type Payload } from '../domain/message.ts';
import {
  MAX_REACTIONS_PER_USER,
  allowedEmoji,
  deleteRefusal,
  editRefusal,
  emojiFault,
  type ChangeRefusal,
  type ChangeTarget,
} from '../domain/message-changes.ts';
import type { ReactionCount } from '../domain/events.ts';
import { codePointLength, textFault } from '../domain/text.ts';
import { hiddenUpToSql, requireMember } from './membership.ts';
import { MESSAGES_WITH_SENDER, messageColumns, toView, type MessageView } from './messages.ts';
import type { Notifier } from './notify.ts';
import { recordWebhookEvents } from './webhooks/record.ts';
import { iso } from './time.ts';
import { recordChannelChanges } from './channel-changes.ts';

/** The operations a channel may or may not relay (the capability flags of GET /v1/channels). */
export type ChannelFeature = 'edits' | 'deletes' | 'reactions' | 'replies';
export type ChannelSupport = (channel: ExternalChannel, feature: ChannelFeature) => boolean;
/** The platform's fixed set of reaction emoji (Telegram), or undefined when it takes any emoji. */
export type ChannelReactionEmoji = (channel: ExternalChannel) => readonly string[] | undefined;

export interface MessageChangesOptions {
  maxTextLength: number;
  editWindowSeconds: number;
  channelSupports: ChannelSupport;
  channelReactionEmoji?: ChannelReactionEmoji;
  /** How long a queued channel change waits before the scheduler hands it out again (the delivery lease). */
  leaseMs?: number;
  now?: () => number;
}

/** The tombstone's payload: nothing of the original is kept. */
export const DELETED_PAYLOAD = { type: 'deleted' } as const;

interface Target extends ChangeTarget {
  id: string;
  conversationId: number;
  seq: number;
  payload: Payload;
  role: Role;
  isGroup: boolean;
  /** External channels the message went to or came from. */
  channels: ExternalChannel[];
}

const REFUSALS: Record<ChangeRefusal, (id: string) => Error> = {
  'not-message-sender': (id) => forbidden('not-message-sender', `Only the sender may change message ${id}`),
  'edit-window-expired': (id) => conflict('edit-window-expired', `Message ${id} is older than the edit window`),
  'not-editable': (id) => conflict('not-editable', `Message ${id} is not a text message; only text can be edited`),
  'message-deleted': (id) => conflict('message-deleted', `Message ${id} was deleted`),
};

export class MessageChanges {
  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
    private readonly options: MessageChangesOptions,
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Adds (`add`) or removes the caller's reaction; idempotent. Answers the message as the caller sees it. */
  async react(userId: number, messageId: string, emoji: string, add: boolean): Promise<MessageView> {
    const fault = emojiFault(emoji);
    if (fault) throw invalid('invalid-emoji', `The reaction ${fault}`, { errors: [{ path: '/emoji', message: fault }] });
    const change = await this.db.transaction(async (tx) => {
      const m = await lockTarget(tx, messageId, userId);
      if (m.isDeleted) throw REFUSALS['message-deleted'](messageId);
      this.requireChannelSupport(m, 'reactions');
      if (add) this.requireChannelEmoji(m, emoji);
      if (add) {
        const [mine] = await tx.query('SELECT count(*) AS n, bool_or(emoji = $3) AS has FROM message_reactions WHERE message_id = $1 AND user_id = $2', [
          messageId,
          userId,
          emoji,
        ]);
        if (mine.has) return undefined;
        if (Number(mine.n) >= MAX_REACTIONS_PER_USER)
          throw conflict('too-many-reactions', `A user may put at most ${MAX_REACTIONS_PER_USER} different reactions on a message`);
        await tx.query('INSERT INTO message_reactions (message_id, user_id, emoji) VALUES ($1, $2, $3)', [messageId, userId, emoji]);
      } else {
        const gone = await tx.query('DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3 RETURNING 1', [
          messageId,
          userId,
          emoji,
        ]);
        if (gone.length === 0) return undefined;
      }
      const version = await nextVersion(tx, m);
      await this.relay(tx, m, 'reaction');
      const counts = await tx.query('SELECT emoji, count(*) AS n FROM message_reactions WHERE message_id = $1 GROUP BY emoji ORDER BY min(created_at), emoji', [
        messageId,
      ]);
      return { m, version, reactions: counts.map((c): ReactionCount => ({ emoji: String(c.emoji), count: Number(c.n) })) };
    }, 'message-react');
    if (change) {
      const { m, version, reactions } = change;
      await this.notify.toConversation(m.conversationId, 'message.reaction', {
        message_id: m.id,
        conversation_id: m.conversationId,
        seq: m.seq,
        version,
        user_id: userId,
        emoji,
        action: add ? 'added' : 'removed',
        reactions,
      });
    }
    return this.view(userId, messageId);
  }

  /** Replaces the text of the caller's text message within the edit window; the old text is kept for them. */
  async edit(userId: number, messageId: string, content: string): Promise<MessageView> {
    this.checkText(content);
    const change = await this.db.transaction(async (tx) => {
      const m = await lockTarget(tx, messageId, userId);
      const refusal = editRefusal(m, userId, this.now(), this.options.editWindowSeconds * 1000);
      if (refusal) throw REFUSALS[refusal](messageId);
      this.requireChannelSupport(m, 'edits');
      if (m.payload.type === 'text' && m.payload.content === content) return undefined; // nothing changes
      const payload: Payload = { type: 'text', content };
      await tx.query(
        'INSERT INTO message_versions (message_id, payload, created_at) SELECT id, payload, COALESCE(edited_at, created_at) FROM messages WHERE id = $1',
        [messageId],
      );
      const version = await nextVersion(tx, m, previewOf(payload));
      const [row] = await tx.query('UPDATE messages SET payload = $2, edited_at = now() WHERE id = $1 RETURNING edited_at', [
        messageId,
        JSON.stringify(payload),
      ]);
      const editedAt = iso(row.edited_at);
      await this.relay(tx, m, 'edit', content);
      await recordWebhookEvents(tx, [
        {
          type: 'message.updated',
          conversationId: m.conversationId,
          data: { message_id: m.id, conversation_id: m.conversationId, seq: m.seq, version, payload, edited_at: editedAt },
        },
      ]);
      return { m, version, payload, editedAt };
    }, 'message-edit');
    if (change) {
      const { m, version, payload, editedAt } = change;
      await this.notify.toConversation(m.conversationId, 'message.updated', {
        message_id: m.id,
        conversation_id: m.conversationId,
        seq: m.seq,
        version,
        payload,
        edited_at: editedAt,
      });
    }
    return this.view(userId, messageId);
  }

  /**
   * Deletes a message for everyone: the payload, previous versions and reactions go, the row stays
   * as a tombstone (its seq keeps the conversation gap-free); a file it shared is unshared unless
   * another message of the conversation still shares it. Deleting a tombstone changes nothing.
   */
  async remove(userId: number, messageId: string): Promise<MessageView> {
    const change = await this.db.transaction(async (tx) => {
      const m = await lockTarget(tx, messageId, userId);
      if (m.isDeleted) return undefined;
      const refusal = deleteRefusal(m, { userId, role: m.role, isGroup: m.isGroup }, this.now(), this.options.editWindowSeconds * 1000);
      if (refusal) throw REFUSALS[refusal](messageId);
      this.requireChannelSupport(m, 'deletes');
      const version = await nextVersion(tx, m, '[Deleted]');
      const [row] = await tx.query(
        'UPDATE messages SET payload = $2, deleted_at = now(), deleted_by = $3, edited_at = NULL WHERE id = $1 RETURNING deleted_at',
        [messageId, JSON.stringify(DELETED_PAYLOAD), userId],
      );
      await tx.query('DELETE FROM message_versions WHERE message_id = $1', [messageId]);
      await tx.query('DELETE FROM message_reactions WHERE message_id = $1', [messageId]);
      if (m.payload.type === 'file') {
        await tx.query(
          `DELETE FROM file_shares s WHERE s.file_id = $1 AND s.conversation_id = $2
              AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.conversation_id = $2 AND o.id <> $3 AND o.payload->>'type' = 'file' AND o.payload->>'file_id' = $1::text)`,
          [m.payload.file_id, m.conversationId, messageId],
        );
      }
      const deletedAt = iso(row.deleted_at);
      await this.relay(tx, m, 'delete');
      await recordWebhookEvents(tx, [
        {
          type: 'message.deleted',
          conversationId: m.conversationId,
          data: { message_id: m.id, conversation_id: m.conversationId, seq: m.seq, version, deleted_at: deletedAt, deleted_by: userId },
        },
      ]);
      return { m, version, deletedAt };
    }, 'message-delete');
    if (change) {
      const { m, version, deletedAt } = change;
      await this.notify.toConversation(m.conversationId, 'message.deleted', {
        message_id: m.id,
        conversation_id: m.conversationId,
        seq: m.seq,
        version,
        deleted_at: deletedAt,
        deleted_by: userId,
      });
    }
    return this.view(userId, messageId);
  }

  /** The texts an edit replaced, oldest first, and the current one: for the sender only. */
  async versions(userId: number, messageId: string) {
    const m = await lockTarget(this.db, messageId, userId, false);
    if (m.senderId !== userId) throw REFUSALS['not-message-sender'](messageId);
    const rows = await this.db.query('SELECT payload, created_at, replaced_at FROM message_versions WHERE message_id = $1 ORDER BY id', [messageId]);
    const current = await this.view(userId, messageId);
    return {
      message_id: messageId,
      current: { payload: current.payload, edited_at: current.edited_at, deleted_at: current.deleted_at },
      versions: rows.map((r) => ({ payload: r.payload as Payload, created_at: iso(r.created_at), replaced_at: iso(r.replaced_at) })),
    };
  }

  /**
   * Messages of a conversation changed after `afterVersion` (edited, deleted or reactions changed),
   * in version order, each in its current state: a client that applies them converges.
   */
  async changes(userId: number, conversationId: number, afterVersion: number, limit: number) {
    const me = await requireMember(this.db, conversationId, userId);
    const rows = await this.db.query(
      `SELECT ${messageColumns('$4')} FROM ${MESSAGES_WITH_SENDER}
        WHERE m.conversation_id = $1 AND m.version > $2 AND m.seq > $5 ORDER BY m.version ASC LIMIT $3`,
      [conversationId, afterVersion, limit + 1, userId, me.hiddenUpTo],
    );
    const [count] = await this.db.query('SELECT count(*) AS n FROM messages m WHERE m.conversation_id = $1 AND m.version > $2 AND m.seq > $3', [
      conversationId,
      afterVersion,
      me.hiddenUpTo,
    ]);
    return { messages: rows.slice(0, limit).map(toView), total: Number(count.n), last_version: me.lastVersion, has_more: rows.length > limit };
  }

  /** For WebSocket `sync`: changed messages after a version cursor, as above, without counting. */
  async changedSince(userId: number, conversationId: number, afterVersion: number, limit: number): Promise<MessageView[]> {
    const rows = await this.db.query(
      `SELECT ${messageColumns('$4')} FROM ${MESSAGES_WITH_SENDER}
        WHERE m.conversation_id = $1 AND m.version > $2
          AND m.seq > (SELECT ${hiddenUpToSql('vm', 'vc')} FROM members vm JOIN conversations vc ON vc.id = vm.conversation_id WHERE vm.conversation_id = $1 AND vm.user_id = $4)
        ORDER BY m.version ASC LIMIT $3`,
      [conversationId, afterVersion, limit, userId],
    );
    return rows.map(toView);
  }

  /** The message as `userId` sees it (reactions with `me`). */
  private async view(userId: number, messageId: string): Promise<MessageView> {
    const [row] = await this.db.query(`SELECT ${messageColumns('$2')} FROM ${MESSAGES_WITH_SENDER} WHERE m.id = $1`, [messageId, userId]);
    return toView(row);
  }

  private checkText(content: string): void {
    const fault = textFault(content);
    if (fault) throw invalid('invalid-text', `The message text ${fault}`, { errors: [{ path: '/payload/content', message: fault }] });
    const length = codePointLength(content);
    if (length === 0 || length > this.options.maxTextLength) {
      throw invalid('validation-failed', `Text must have 1 to ${this.options.maxTextLength} characters`, {
        errors: [{ path: '/payload/content', message: `must have 1 to ${this.options.maxTextLength} characters (code points)` }],
      });
    }
  }

  /** Queues the change for the message's external channels, in the transaction that makes it. */
  private relay(tx: Sql, m: Target, kind: 'edit' | 'delete' | 'reaction', content?: string): Promise<void> {
    return recordChannelChanges(tx, { messageId: m.id, channels: m.channels, kind, content, leaseMs: this.options.leaseMs ?? 30_000 });
  }

  /** A platform with a fixed set of reactions refuses others: refused here, before anything is stored. */
  private requireChannelEmoji(m: Target, emoji: string): void {
    for (const channel of m.channels) {
      const allowed = this.options.channelReactionEmoji?.(channel);
      if (allowed && !allowedEmoji(allowed, emoji))
        throw unprocessable('emoji-not-supported-by-channel', `${channel} does not take ${emoji} as a reaction`, { channel, emoji, allowed });
    }
  }

  /** A change we cannot relay to a platform the message went to (or came from) is refused, not made half. */
  private requireChannelSupport(m: Target, feature: ChannelFeature): void {
    const channel = m.channels.find((c) => !this.options.channelSupports(c, feature));
    if (channel) throw conflict('not-supported-by-channel', `${channel} does not support ${feature} through this service`, { channel, feature });
  }
}

/**
 * Loads the message for a change by `userId`, locking its row (FOR NO KEY UPDATE: a reply being
 * inserted, which key-share locks its original, does not wait). 404 unless the caller may see it,
 * as GET /v1/messages/{id}.
 */
async function lockTarget(sql: Sql, messageId: string, userId: number, lock = true): Promise<Target> {
  const [r] = await sql.query(
    `SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.payload, m.channels, m.created_at, m.deleted_at, c.type, ct.channel AS contact_channel, mb.role
       FROM messages m JOIN conversations c ON c.id = m.conversation_id
       JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = $2
       LEFT JOIN contacts ct ON ct.id = c.contact_id
      WHERE m.id = $1 AND m.seq > ${hiddenUpToSql('mb', 'c')}${lock ? ' FOR NO KEY UPDATE OF m' : ''}`,
    [messageId, userId],
  );
  if (!r) throw notFound('message-not-found', `Message ${messageId} does not exist or is not visible to you`);
  const external = new Set<ExternalChannel>();
  for (const c of r.channels as string[]) if ((CHANNELS as readonly string[]).includes(c)) external.add(c as ExternalChannel);
  if (r.contact_channel) external.add(r.contact_channel as ExternalChannel);
  const payload = r.payload as Payload;
  return {
    id: messageId,
    conversationId: Number(r.conversation_id),
    seq: Number(r.seq),
    senderId: r.sender_id === null ? null : Number(r.sender_id),
    payload,
    payloadType: payload.type,
    createdAt: new Date(r.created_at as string | Date).getTime(),
    isDeleted: r.deleted_at !== null,
    role: asRole(String(r.role)),
    isGroup: r.type === 'group',
    channels: [...external],
  };
}

/**
 * Takes the conversation's next version (its row lock orders concurrent changes), stamps it on the
 * message and, when the message is the conversation's last, sets the list preview.
 */
export async function nextVersion(tx: Sql, m: Pick<Target, 'id' | 'conversationId' | 'seq'>, preview?: string): Promise<number> {
  const [row] = await tx.query(
    `UPDATE conversations SET last_version = last_version + 1,
            last_message_preview = CASE WHEN $3::text IS NOT NULL AND last_seq = $2 THEN $3::text ELSE last_message_preview END
      WHERE id = $1 RETURNING last_version`,
    [m.conversationId, m.seq, preview ?? null],
  );
  const version = Number(row.last_version);
  await tx.query('UPDATE messages SET version = $2 WHERE id = $1', [m.id, version]);
  return version;
}
