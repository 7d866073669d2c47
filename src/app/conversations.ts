/** Conversations: create (private pairs are unique), list with unread counts, members, details. */
import type { Database, Sql } from '../ports/database.ts';
import { invalid } from '../domain/errors.ts';
import type { HistoryVisibility } from '../domain/group.ts';
import type { Notifier } from './notify.ts';
import { hiddenUpToSql, requireMember } from './membership.ts';
import { iso } from './time.ts';
import { recordWebhookEvents } from './webhooks/record.ts';
import { contactOfConversation, type Contact } from './channels/contacts.ts';

export interface CreateConversation {
  type: 'private' | 'group';
  member_ids: number[];
  name?: string;
  description?: string;
  /** Groups only; default `shared`. */
  history_visibility?: HistoryVisibility;
}

export interface ConversationDetails {
  id: number;
  conversation_id: number;
  type: string;
  name: string | null;
  description: string | null;
  history_visibility: HistoryVisibility;
  created_at: string;
  member_count: number;
  last_seq: number;
  members: { user_id: number; username: string; display_name: string; is_bot: boolean; role: string; read_seq: number; delivered_seq: number }[];
  /** For a `channel` conversation: the person on the platform it is bound to. */
  contact?: Contact;
}

export class Conversations {
  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
    private readonly maxGroupMembers: number,
  ) {}

  /** Creates a conversation; asking again for an existing private pair returns that one. */
  async create(callerId: number, input: CreateConversation): Promise<ConversationDetails> {
    const ids = [...new Set([callerId, ...input.member_ids])];
    if (input.type === 'private' && ids.length !== 2)
      throw invalid('invalid-member-count', 'A private conversation has exactly 2 members (you and one other user)');
    if (input.type === 'group' && (ids.length < 3 || ids.length > this.maxGroupMembers)) {
      throw invalid('invalid-member-count', `A group has between 3 and ${this.maxGroupMembers} members`);
    }
    if (input.type === 'private' && input.history_visibility !== undefined) throw invalid('not-a-group', 'history_visibility is a setting of groups');
    const { conversationId, isNew } = await this.db.transaction(async (tx) => {
      await requireUsersExist(tx, ids);
      const pair = input.type === 'private' ? [...ids].sort((a, b) => a - b).join(':') : null;
      const inserted = await tx.query(
        `INSERT INTO conversations (type, name, description, private_pair, created_by, history_visibility) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (private_pair) DO NOTHING RETURNING id`,
        [input.type, input.name ?? null, input.description ?? null, pair, callerId, input.history_visibility ?? 'shared'],
      );
      if (inserted.length === 0) {
        const existing = await tx.query('SELECT id FROM conversations WHERE private_pair = $1', [pair]);
        return { conversationId: Number(existing[0].id), isNew: false };
      }
      const id = Number(inserted[0].id);
      await tx.query(
        `INSERT INTO members (conversation_id, user_id, role) SELECT $1, u, CASE WHEN u = $3 THEN 'owner' ELSE 'member' END FROM unnest($2::bigint[]) AS u`,
        [id, ids, callerId],
      );
      await recordWebhookEvents(tx, [
        {
          type: 'conversation.created',
          conversationId: id,
          data: { conversation_id: id, conversation_type: input.type, name: input.name ?? null, member_ids: ids },
        },
      ]);
      return { conversationId: id, isNew: true };
    });
    const details = await this.details(callerId, conversationId);
    if (isNew) {
      this.notify.toUsers(ids, 'conversation.created', {
        conversation_id: conversationId,
        conversation_type: details.type,
        name: details.name,
        member_ids: ids,
      });
    }
    return details;
  }

  /** The caller's conversations, most recent activity first, with unread counts. */
  async list(userId: number, limit: number, offset: number) {
    const [{ total }] = await this.db.query<{ total: number }>('SELECT count(*)::int AS total FROM members WHERE user_id = $1', [userId]);
    const rows = await this.db.query(
      `SELECT c.id, c.type, c.name, c.description, c.created_at, c.last_seq, c.last_message_at, c.last_message_preview,
              s.username AS last_sender, c.last_seq <= ${hiddenUpToSql()} AS is_last_hidden,
              (SELECT count(*)::int FROM messages x
                WHERE x.conversation_id = c.id AND x.seq > GREATEST(m.read_seq, ${hiddenUpToSql()}) AND x.sender_id IS DISTINCT FROM $1) AS unread
         FROM members m JOIN conversations c ON c.id = m.conversation_id
         LEFT JOIN users s ON s.id = c.last_message_sender_id
        WHERE m.user_id = $1
        ORDER BY COALESCE(c.last_message_at, c.created_at) DESC, c.id DESC
        LIMIT $2 OFFSET $3`,
      [userId, limit, offset],
    );
    const items = rows.map((r) => {
      // A member of a `joined` group sees nothing of the messages sent before their join, preview included.
      const isHidden = r.is_last_hidden === true;
      return {
        conversation_id: Number(r.id),
        type: String(r.type),
        name: (r.name as string | null) ?? null,
        created_at: iso(r.created_at),
        // Deprecated aliases of type, name and created_at (the names details use), for one version.
        conversation_type: String(r.type),
        conversation_name: (r.name as string | null) ?? null,
        description: (r.description as string | null) ?? null,
        last_message_timestamp: r.last_message_at && !isHidden ? iso(r.last_message_at) : null,
        last_message_content: isHidden ? null : ((r.last_message_preview as string | null) ?? null),
        last_message_sender: isHidden ? null : ((r.last_sender as string | null) ?? null),
        last_seq: Number(r.last_seq),
        unread_count: Number(r.unread),
        conversation_created_at: iso(r.created_at),
      };
    });
    return { items, total, limit, offset, has_more: offset + items.length < total };
  }

  /** Details with members and their read cursors; 404/403 for unknown or foreign conversations. */
  async details(userId: number, conversationId: number): Promise<ConversationDetails> {
    await requireMember(this.db, conversationId, userId);
    const [c] = await this.db.query('SELECT id, type, name, description, history_visibility, created_at, last_seq FROM conversations WHERE id = $1', [
      conversationId,
    ]);
    const members = await this.db.query(
      `SELECT m.user_id, u.username, u.display_name, u.kind, m.role, m.read_seq, m.delivered_seq
         FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = $1 ORDER BY m.joined_at, m.user_id`,
      [conversationId],
    );
    const contact = c.type === 'channel' ? await contactOfConversation(this.db, conversationId) : undefined;
    return {
      ...(contact ? { contact } : {}),
      id: Number(c.id),
      conversation_id: Number(c.id),
      type: String(c.type),
      name: (c.name as string | null) ?? null,
      description: (c.description as string | null) ?? null,
      history_visibility: c.history_visibility as HistoryVisibility,
      created_at: iso(c.created_at),
      member_count: members.length,
      last_seq: Number(c.last_seq),
      members: members.map((m) => ({
        user_id: Number(m.user_id),
        username: String(m.username),
        display_name: String(m.display_name),
        is_bot: m.kind === 'bot',
        role: String(m.role),
        read_seq: Number(m.read_seq),
        delivered_seq: Number(m.delivered_seq),
      })),
    };
  }

  /** Ids of every conversation the user belongs to (for WebSocket subscriptions). */
  async idsOf(userId: number): Promise<number[]> {
    const rows = await this.db.query('SELECT conversation_id FROM members WHERE user_id = $1', [userId]);
    return rows.map((r) => Number(r.conversation_id));
  }
}

export async function requireUsersExist(sql: Sql, ids: number[]): Promise<void> {
  const rows = await sql.query('SELECT id FROM users WHERE id = ANY($1::bigint[])', [ids]);
  const found = new Set(rows.map((r) => Number(r.id)));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw invalid('user-not-found', `Unknown user id(s): ${missing.join(', ')}`, { missing_user_ids: missing });
}

export async function usernames(sql: Sql, ids: number[]): Promise<{ id: number; username: string }[]> {
  if (ids.length === 0) return [];
  const rows = await sql.query('SELECT id, username FROM users WHERE id = ANY($1::bigint[]) ORDER BY id', [ids]);
  return rows.map((r) => ({ id: Number(r.id), username: String(r.username) }));
}
