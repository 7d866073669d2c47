/** Replies: a message may answer an earlier one of its conversation and carries a quote of it. */
import type { Sql } from '../ports/database.ts';
import { invalid } from '../domain/errors.ts';
import { previewOf, type Payload } from '../domain/message.ts';
import type { ReplyQuote } from '../domain/events.ts';
import { hiddenUpToSql, requireMember } from './membership.ts';

/**
 * The quote for a new message of `senderId` in `conversationId` that replies to `replyTo`: the
 * original must be a message of that conversation the sender may see (400 reply-not-found);
 * a sender who is not a member gets the usual 404/403.
 */
export async function replyQuoteFor(sql: Sql, senderId: number, conversationId: number, replyTo: string): Promise<ReplyQuote> {
  const [r] = await sql.query(
    `SELECT m.sender_id, u.username, m.payload, m.deleted_at FROM messages m LEFT JOIN users u ON u.id = m.sender_id
       JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = $3 JOIN conversations c ON c.id = m.conversation_id
      WHERE m.id = $1 AND m.conversation_id = $2 AND m.seq > ${hiddenUpToSql('mb', 'c')}`,
    [replyTo, conversationId, senderId],
  );
  if (!r) {
    await requireMember(sql, conversationId, senderId);
    throw invalid('reply-not-found', `Message ${replyTo} is not a message of conversation ${conversationId} that you can see`, {
      errors: [{ path: '/reply_to', message: 'must be a message of the same conversation' }],
    });
  }
  const deleted = r.deleted_at !== null;
  return {
    message_id: replyTo,
    sender_id: r.sender_id === null ? null : Number(r.sender_id),
    sender_username: r.username === null ? null : String(r.username),
    excerpt: deleted ? null : previewOf(r.payload as Payload),
    deleted,
  };
}
