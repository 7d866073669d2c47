/**
 * A contact's changes on the platform, applied to the stored messages so that agents see them:
 * the new text of a message the contact sent (an edit, its previous text kept as a version), and
 * the contact's reactions on any message of their conversation. Each change takes the
 * conversation's next version and is announced like a member's (message.updated, message.reaction).
 */
import type { Database, Sql } from '../../ports/database.ts';
import type { InboundEdit, InboundReaction } from '../../domain/inbound-event.ts';
import { previewOf, type Payload } from '../../domain/message.ts';
import type { ReactionCount } from '../../domain/events.ts';
import type { Notifier } from '../notify.ts';
import type { Logger } from '../logger.ts';
import { nextVersion } from '../message-changes.ts';
import { recordWebhookEvents } from '../webhooks/record.ts';
import { iso } from '../time.ts';

interface Found {
  id: string;
  conversationId: number;
  seq: number;
  contactId: number;
  /** The contact sent it (else it is one of ours). */
  isTheirs: boolean;
  payload: Payload;
  isDeleted: boolean;
}

export class ContactChanges {
  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
    private readonly logger: Logger,
  ) {}

  /** Replaces the text of the contact's own text message; an edit of anything else, or of an unknown message, changes nothing. */
  async edit(e: InboundEdit): Promise<void> {
    const change = await this.db.transaction(async (tx) => {
      const m = await this.find(tx, e);
      if (!m?.isTheirs || m.isDeleted || m.payload.type !== 'text' || m.payload.content === e.text) return undefined;
      const payload: Payload = { type: 'text', content: e.text };
      await tx.query(
        'INSERT INTO message_versions (message_id, payload, created_at) SELECT id, payload, COALESCE(edited_at, created_at) FROM messages WHERE id = $1',
        [m.id],
      );
      const version = await nextVersion(tx, m, previewOf(payload));
      const [row] = await tx.query('UPDATE messages SET payload = $2, edited_at = now() WHERE id = $1 RETURNING edited_at', [m.id, JSON.stringify(payload)]);
      const editedAt = iso(row.edited_at);
      const data = { message_id: m.id, conversation_id: m.conversationId, seq: m.seq, version, payload, edited_at: editedAt };
      await recordWebhookEvents(tx, [{ type: 'message.updated', conversationId: m.conversationId, data }]);
      return data;
    }, 'contact-edit');
    if (change) await this.notify.toConversation(change.conversation_id, 'message.updated', change);
  }

  /** Makes the contact's reactions on the message exactly `e.emojis`; unknown messages change nothing. */
  async react(e: InboundReaction): Promise<void> {
    const change = await this.db.transaction(async (tx) => {
      const m = await this.find(tx, e);
      if (!m || m.isDeleted) return undefined;
      const removed = await tx.query(
        'DELETE FROM message_reactions WHERE message_id = $1 AND contact_id = $2 AND NOT (emoji = ANY($3::text[])) RETURNING emoji',
        [m.id, m.contactId, e.emojis],
      );
      const added = await tx.query(
        `INSERT INTO message_reactions (message_id, contact_id, emoji) SELECT $1, $2, x FROM unnest($3::text[]) AS x
         ON CONFLICT (message_id, contact_id, emoji) WHERE contact_id IS NOT NULL DO NOTHING RETURNING emoji`,
        [m.id, m.contactId, [...new Set(e.emojis)]],
      );
      if (removed.length + added.length === 0) return undefined;
      const version = await nextVersion(tx, m);
      const counts = await tx.query('SELECT emoji, count(*) AS n FROM message_reactions WHERE message_id = $1 GROUP BY emoji ORDER BY min(created_at), emoji', [
        m.id,
      ]);
      const reactions = counts.map((c): ReactionCount => ({ emoji: String(c.emoji), count: Number(c.n) }));
      const moves = [
        ...removed.map((r) => ({ emoji: String(r.emoji), action: 'removed' as const })),
        ...added.map((r) => ({ emoji: String(r.emoji), action: 'added' as const })),
      ];
      return { m, version, reactions, moves };
    }, 'contact-react');
    if (!change) return;
    const { m, version, reactions, moves } = change;
    for (const move of moves) {
      await this.notify.toConversation(m.conversationId, 'message.reaction', {
        message_id: m.id,
        conversation_id: m.conversationId,
        seq: m.seq,
        version,
        user_id: null,
        contact_id: m.contactId,
        ...move,
        reactions,
      });
    }
  }

  /**
   * The message of the contact's conversation the platform names: one the contact sent (its
   * platform id stored with it) or one of ours delivered there. Ids are per chat on Telegram, so
   * the lookup stays within the contact's conversation. Locks it for the change.
   */
  private async find(tx: Sql, e: InboundEdit | InboundReaction): Promise<Found | undefined> {
    const [r] = await tx.query(
      `SELECT m.id, m.conversation_id, m.seq, m.payload, m.deleted_at, ct.id AS contact_id, m.sender_contact_id = ct.id AS is_theirs
         FROM contacts ct JOIN messages m ON m.conversation_id = ct.conversation_id
        WHERE ct.channel = $1 AND ct.external_id = $2
          AND ((m.sender_contact_id = ct.id AND m.external_id = $3)
               OR EXISTS (SELECT 1 FROM message_channels mc WHERE mc.message_id = m.id AND mc.channel = $1 AND mc.external_id = $3))
        ORDER BY m.seq DESC LIMIT 1 FOR NO KEY UPDATE OF m`,
      [e.channel, e.externalUserId, e.externalMessageId],
    );
    if (!r) {
      this.logger.debug({ channel: e.channel, kind: e.kind, event: e.providerEventId }, 'change of no message we know');
      return undefined;
    }
    return {
      id: String(r.id),
      conversationId: Number(r.conversation_id),
      seq: Number(r.seq),
      contactId: Number(r.contact_id),
      isTheirs: r.is_theirs === true,
      payload: r.payload as Payload,
      isDeleted: r.deleted_at !== null,
    };
  }
}
