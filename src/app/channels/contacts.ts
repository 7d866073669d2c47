/** Contacts: people on an external platform, each bound to one channel conversation. Visible to that conversation's members (the channel's agents). */
import type { Database } from '../../ports/database.ts';
import { notFound } from '../../domain/errors.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { iso } from '../time.ts';

export interface Contact {
  contact_id: number;
  channel: ExternalChannel;
  external_id: string;
  display_name: string | null;
  conversation_id: number | null;
  last_inbound_at: string | null;
  created_at: string;
}

const COLUMNS = 'ct.id, ct.channel, ct.external_id, ct.display_name, ct.conversation_id, ct.last_inbound_at, ct.created_at';
const VISIBLE = 'EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = ct.conversation_id AND m.user_id = $1)';

export class Contacts {
  constructor(private readonly db: Database) {}

  /** The caller's contacts, most recently active first; `query` matches the start of the name or the external id. */
  async list(userId: number, q: { channel?: ExternalChannel; query?: string; limit: number; offset: number }) {
    const params: unknown[] = [userId, q.channel ?? null, q.query ? `${escapeLike(q.query.toLowerCase())}%` : null];
    const where = `${VISIBLE} AND ($2::text IS NULL OR ct.channel = $2) AND ($3::text IS NULL OR lower(ct.display_name) LIKE $3 OR lower(ct.external_id) LIKE $3)`;
    const [{ total }] = await this.db.query<{ total: number }>(`SELECT count(*)::int AS total FROM contacts ct WHERE ${where}`, params);
    const rows = await this.db.query(
      `SELECT ${COLUMNS} FROM contacts ct WHERE ${where} ORDER BY ct.last_inbound_at DESC NULLS LAST, ct.id DESC LIMIT $4 OFFSET $5`,
      [...params, q.limit, q.offset],
    );
    return { contacts: rows.map(toContact), total, limit: q.limit, offset: q.offset, has_more: q.offset + rows.length < total };
  }

  /** One contact; 404 unless the caller is a member of its conversation. */
  async get(userId: number, contactId: number): Promise<Contact> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM contacts ct WHERE ct.id = $2 AND ${VISIBLE}`, [userId, contactId]);
    if (!rows[0]) throw notFound('contact-not-found', `Contact ${contactId} does not exist or is not visible to you`);
    return toContact(rows[0]);
  }
}

/** The contact a channel conversation is bound to (membership already checked by the caller). */
export async function contactOfConversation(db: Database, conversationId: number): Promise<Contact | undefined> {
  const rows = await db.query(`SELECT ${COLUMNS} FROM contacts ct JOIN conversations c ON c.contact_id = ct.id WHERE c.id = $1`, [conversationId]);
  return rows[0] ? toContact(rows[0]) : undefined;
}

export function toContact(r: Record<string, unknown>): Contact {
  return {
    contact_id: Number(r.id),
    channel: r.channel as ExternalChannel,
    external_id: String(r.external_id),
    display_name: r.display_name === null ? null : String(r.display_name),
    conversation_id: r.conversation_id === null ? null : Number(r.conversation_id),
    last_inbound_at: r.last_inbound_at ? iso(r.last_inbound_at) : null,
    created_at: iso(r.created_at),
  };
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
