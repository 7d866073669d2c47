/**
 * Group administration: members in and out, roles, settings. Who may do what is decided in
 * src/domain/group.ts; every change runs with the conversation row locked, so that concurrent
 * changes (two admins, the owner leaving while someone is removed) see each other's results.
 */
import type { Database, Sql } from '../ports/database.ts';
import { forbidden, invalid, notFound } from '../domain/errors.ts';
import { asRole, canRemove, isManager, successor, type HistoryVisibility, type Role } from '../domain/group.ts';
import type { Notifier } from './notify.ts';
import { recordWebhookEvents } from './webhooks/record.ts';
import { requireMember, type Membership } from './membership.ts';
import { requireUsersExist, usernames, type ConversationDetails, type Conversations } from './conversations.ts';

export interface GroupSettings {
  name?: string;
  description?: string;
  history_visibility?: HistoryVisibility;
}

export class Groups {
  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
    private readonly conversations: Pick<Conversations, 'details'>,
    private readonly maxGroupMembers: number,
  ) {}

  /** Adds users to a group (owners and admins only); already-present users are ignored. */
  async addMembers(callerId: number, conversationId: number, userIds: number[]): Promise<ConversationDetails> {
    const added = await this.db.transaction(async (tx) => {
      const me = await lockGroup(tx, conversationId, callerId, 'Members can only be added to group conversations');
      if (!isManager(me.role)) throw forbidden('not-allowed', 'Only the group owner and admins can add members');
      const ids = [...new Set(userIds)];
      await requireUsersExist(tx, ids);
      // joined_seq: what the newcomer may not see when the group's history_visibility is `joined`.
      const rows = await tx.query(
        `INSERT INTO members (conversation_id, user_id, joined_seq) SELECT $1, u, $3 FROM unnest($2::bigint[]) AS u
         ON CONFLICT DO NOTHING RETURNING user_id`,
        [conversationId, ids, me.lastSeq],
      );
      const [{ n }] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM members WHERE conversation_id = $1', [conversationId]);
      if (n > this.maxGroupMembers) throw invalid('invalid-member-count', `A group has at most ${this.maxGroupMembers} members`);
      const joined = await usernames(
        tx,
        rows.map((r) => Number(r.user_id)),
      );
      await recordWebhookEvents(
        tx,
        joined.map((u) => ({ type: 'member.joined', conversationId, data: { conversation_id: conversationId, user_id: u.id, username: u.username } })),
      );
      return joined;
    });
    const details = await this.conversations.details(callerId, conversationId);
    for (const u of added) {
      this.notify.toConversation(conversationId, 'member.joined', { conversation_id: conversationId, user_id: u.id, username: u.username });
    }
    if (added.length > 0) {
      this.notify.toUsers(
        added.map((u) => u.id),
        'conversation.created',
        {
          conversation_id: conversationId,
          conversation_type: details.type,
          name: details.name,
          member_ids: details.members.map((m) => m.user_id),
        },
      );
    }
    return details;
  }

  /**
   * Removes a member: anyone may leave; the owner removes admins and members, an admin removes
   * members. When the owner leaves, the longest-standing admin (else member) becomes owner.
   */
  async removeMember(callerId: number, conversationId: number, userId: number): Promise<void> {
    const { removed, newOwner } = await this.db.transaction(async (tx) => {
      const me = await lockGroup(tx, conversationId, callerId, 'Members can only be removed from group conversations');
      const target = await roleOf(tx, conversationId, userId);
      if (!target) throw notFound('member-not-found', `User ${userId} is not a member of conversation ${conversationId}`);
      if (!canRemove({ userId: callerId, role: me.role }, { userId, role: target })) {
        throw forbidden(
          'not-allowed',
          isManager(me.role) ? 'Admins can remove members, not other admins or the owner' : 'Only the group owner and admins can remove other members',
        );
      }
      await tx.query('DELETE FROM members WHERE conversation_id = $1 AND user_id = $2', [conversationId, userId]);
      const heir = target === 'owner' ? await passOwnership(tx, conversationId) : undefined;
      const [left] = await usernames(tx, [userId]);
      // The member who left hears of it too (they are no longer a member).
      await recordWebhookEvents(tx, [
        { type: 'member.left', conversationId, userId, data: { conversation_id: conversationId, user_id: left.id, username: left.username } },
      ]);
      return { removed: left, newOwner: heir };
    });
    const event = { conversation_id: conversationId, user_id: removed.id, username: removed.username };
    this.notify.toConversation(conversationId, 'member.left', event);
    this.notify.toUsers([removed.id], 'member.left', event);
    if (newOwner)
      this.notify.toConversation(conversationId, 'member.role_changed', {
        conversation_id: conversationId,
        user_id: newOwner.id,
        username: newOwner.username,
        role: 'owner',
      });
  }

  /**
   * The owner makes a member an admin or an admin a member, or hands the group over (`owner`: the
   * previous owner becomes an admin). The owner's own role changes only by handing over or leaving.
   */
  async changeRole(callerId: number, conversationId: number, userId: number, role: Role): Promise<ConversationDetails> {
    const changed = await this.db.transaction(async (tx) => {
      const me = await lockGroup(tx, conversationId, callerId, 'Roles exist only in group conversations');
      if (me.role !== 'owner') throw forbidden('not-allowed', 'Only the group owner can change roles');
      const current = await roleOf(tx, conversationId, userId);
      if (!current) throw notFound('member-not-found', `User ${userId} is not a member of conversation ${conversationId}`);
      if (userId === callerId) {
        if (role === 'owner') return [];
        throw invalid('owner-role-change', 'The owner keeps the role until handing it to another member (role "owner") or leaving');
      }
      if (current === role) return [];
      await setRole(tx, conversationId, userId, role);
      if (role !== 'owner') return [{ userId, role }];
      await setRole(tx, conversationId, callerId, 'admin');
      return [
        { userId, role },
        { userId: callerId, role: 'admin' as Role },
      ];
    });
    for (const c of changed) {
      const [u] = await usernames(this.db, [c.userId]);
      this.notify.toConversation(conversationId, 'member.role_changed', {
        conversation_id: conversationId,
        user_id: c.userId,
        username: u?.username ?? '',
        role: c.role,
      });
    }
    return this.conversations.details(callerId, conversationId);
  }

  /** Changes a group's name, description or history visibility (owners and admins). */
  async update(callerId: number, conversationId: number, settings: GroupSettings): Promise<ConversationDetails> {
    await this.db.transaction(async (tx) => {
      const me = await lockGroup(tx, conversationId, callerId, 'Only group conversations have settings');
      if (!isManager(me.role)) throw forbidden('not-allowed', 'Only the group owner and admins can change the group');
      await tx.query(
        `UPDATE conversations SET name = COALESCE($2, name), description = COALESCE($3, description), history_visibility = COALESCE($4, history_visibility) WHERE id = $1`,
        [conversationId, settings.name ?? null, settings.description ?? null, settings.history_visibility ?? null],
      );
    });
    const details = await this.conversations.details(callerId, conversationId);
    this.notify.toConversation(conversationId, 'conversation.updated', {
      conversation_id: conversationId,
      name: details.name,
      description: details.description,
      history_visibility: details.history_visibility,
    });
    return details;
  }
}

/** The caller's membership of a group, with the conversation row locked until the transaction ends. */
async function lockGroup(tx: Sql, conversationId: number, callerId: number, notAGroup: string): Promise<Membership> {
  await tx.query('SELECT id FROM conversations WHERE id = $1 FOR UPDATE', [conversationId]);
  const me = await requireMember(tx, conversationId, callerId);
  // A channel conversation is a shared inbox: its agents (admins) manage members like a group's.
  if (me.type === 'private') throw invalid('not-a-group', notAGroup);
  return me;
}

async function roleOf(tx: Sql, conversationId: number, userId: number): Promise<Role | undefined> {
  const [row] = await tx.query('SELECT role FROM members WHERE conversation_id = $1 AND user_id = $2', [conversationId, userId]);
  return row ? asRole(String(row.role)) : undefined;
}

const setRole = (tx: Sql, conversationId: number, userId: number, role: Role) =>
  tx.query('UPDATE members SET role = $3 WHERE conversation_id = $1 AND user_id = $2', [conversationId, userId, role]);

/** Makes the successor (src/domain/group.ts) the owner; returns them, or undefined for an empty group. */
async function passOwnership(tx: Sql, conversationId: number): Promise<{ id: number; username: string } | undefined> {
  // Ordered here: joined_at has microseconds, which a JS Date would lose.
  const rows = await tx.query('SELECT user_id, role FROM members WHERE conversation_id = $1 ORDER BY joined_at, user_id', [conversationId]);
  const heir = successor(rows.map((r, i) => ({ userId: Number(r.user_id), role: asRole(String(r.role)), joinedAt: i })));
  if (!heir) return undefined;
  await setRole(tx, conversationId, heir.userId, 'owner');
  return (await usernames(tx, [heir.userId]))[0];
}
