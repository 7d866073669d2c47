import type { Sql } from '../ports/database.ts';
import { forbidden, notFound } from '../domain/errors.ts';

export interface Membership {
  conversationId: number;
  type: 'private' | 'group';
  role: string;
  lastSeq: number;
  readSeq: number;
  deliveredSeq: number;
}

/** Loads the caller's membership; 404 conversation-not-found, 403 not-a-member. */
export async function requireMember(sql: Sql, conversationId: number, userId: number): Promise<Membership> {
  const rows = await sql.query(
    `SELECT c.id, c.type, c.last_seq, m.role, m.read_seq, m.delivered_seq
       FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = $2
      WHERE c.id = $1`,
    [conversationId, userId],
  );
  const row = rows[0];
  if (!row) throw notFound('conversation-not-found', `Conversation ${conversationId} does not exist`);
  if (row.role === null || row.role === undefined) throw forbidden('not-a-member', `You are not a member of conversation ${conversationId}`);
  return {
    conversationId,
    type: row.type as Membership['type'],
    role: String(row.role),
    lastSeq: Number(row.last_seq),
    readSeq: Number(row.read_seq),
    deliveredSeq: Number(row.delivered_seq),
  };
}
