/** A member's own settings of a conversation (now: muting its push notifications). */
import type { Database } from '../ports/database.ts';
import { requireMember } from './membership.ts';
import { iso } from './time.ts';

export interface ConversationSettingsView {
  conversation_id: number;
  /** No push notifications for this conversation until then; null when not muted. */
  muted_until: string | null;
}

export class ConversationSettings {
  constructor(private readonly db: Database) {}

  /** The caller's settings; 404 conversation-not-found, 403 not-a-member. */
  async of(userId: number, conversationId: number): Promise<ConversationSettingsView> {
    await requireMember(this.db, conversationId, userId);
    const [row] = await this.db.query('SELECT muted_until FROM members WHERE conversation_id = $1 AND user_id = $2', [conversationId, userId]);
    return view(conversationId, row?.muted_until);
  }

  /** Mutes until `mutedUntil` (a past time or null unmutes); same errors as `of`. */
  async update(userId: number, conversationId: number, mutedUntil: string | null): Promise<ConversationSettingsView> {
    await requireMember(this.db, conversationId, userId);
    const [row] = await this.db.query('UPDATE members SET muted_until = $3::timestamptz WHERE conversation_id = $1 AND user_id = $2 RETURNING muted_until', [
      conversationId,
      userId,
      mutedUntil,
    ]);
    return view(conversationId, row?.muted_until);
  }
}

const view = (conversationId: number, mutedUntil: unknown): ConversationSettingsView => ({
  conversation_id: conversationId,
  muted_until: mutedUntil === null || mutedUntil === undefined ? null : iso(mutedUntil),
});
