import type { Sql } from '../ports/database.ts';
import { forbidden, notFound } from '../domain/errors.ts';
import { asRole, hiddenUpTo, type HistoryVisibility, type Role } from '../domain/group.ts';

export interface Membership {
  conversationId: number;
  type: 'private' | 'group' | 'channel';
  role: Role;
  historyVisibility: HistoryVisibility;
  lastSeq: number;
  /** The conversation's last change version (edits, deletions, reactions): src/app/message-changes.ts. */
  lastVersion: number;
  readSeq: number;
  deliveredSeq: number;
  /** Messages up to this seq are hidden from the member (history_visibility `joined`); 0 when all are visible. */
  hiddenUpTo: number;
}

/**
 * SQL for `hiddenUpTo` of a member row (alias `member`) of its conversation (alias `conversation`),
 * as in src/domain/group.ts: a message is visible to the member when its seq is greater.
 */
export const hiddenUpToSql = (member = 'm', conversation = 'c') =>
  `(CASE WHEN ${conversation}.history_visibility = 'joined' THEN ${member}.joined_seq ELSE 0 END)`;

/** A subquery: the seq after which `user` sees messages of `conversation` (SQL expressions); NULL for a non-member. */
export const visibleAfterSql = (conversation: string, user: string) =>
  `(SELECT ${hiddenUpToSql('vm', 'vc')} FROM members vm JOIN conversations vc ON vc.id = vm.conversation_id WHERE vm.conversation_id = ${conversation} AND vm.user_id = ${user})`;

/** Loads the caller's membership; 404 conversation-not-found, 403 not-a-member. */
export async function requireMember(sql: Sql, conversationId: number, userId: number): Promise<Membership> {
  const rows = await sql.query(
    `SELECT c.id, c.type, c.last_seq, c.last_version, c.history_visibility, m.role, m.read_seq, m.delivered_seq, m.joined_seq
       FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = $2
      WHERE c.id = $1`,
    [conversationId, userId],
  );
  const row = rows[0];
  if (!row) throw notFound('conversation-not-found', `Conversation ${conversationId} does not exist`);
  if (row.role === null || row.role === undefined) throw forbidden('not-a-member', `You are not a member of conversation ${conversationId}`);
  const historyVisibility = row.history_visibility as HistoryVisibility;
  return {
    conversationId,
    type: row.type as Membership['type'],
    role: asRole(String(row.role)),
    historyVisibility,
    lastSeq: Number(row.last_seq),
    lastVersion: Number(row.last_version),
    readSeq: Number(row.read_seq),
    deliveredSeq: Number(row.delivered_seq),
    hiddenUpTo: hiddenUpTo(historyVisibility, Number(row.joined_seq)),
  };
}
