/**
 * An inbound message from a person on a platform: their contact (created on first contact), the
 * `channel` conversation bound to it whose members are the channel's agents, and the message
 * itself — committed with its seq and outbox row like any send, so fan-out, sync and the pipeline
 * treat it like every other message.
 */
import { createHash } from 'node:crypto';
import type { Database, Sql } from '../../ports/database.ts';
import type { InboundMessage } from '../../domain/inbound-event.ts';
import { previewOf, type ExternalChannel, type Payload } from '../../domain/message.ts';
import { MESSAGES_TOPIC } from '../../domain/log-topics.ts';
import type { Notifier } from '../notify.ts';
import type { Logger } from '../logger.ts';
import { iso } from '../time.ts';
import { messageCreatedHookCte, recordWebhookEvents } from '../webhooks/record.ts';

interface ContactRow {
  id: number;
  conversationId: number | null;
  displayName: string | null;
}

export class ChannelInbox {
  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
    /** Usernames that become the members of each channel's new conversations. */
    private readonly agents: Readonly<Record<ExternalChannel, readonly string[]>>,
    private readonly logger: Logger,
    /** Wakes this process's outbox relay. */
    private readonly onAccepted: () => void = () => undefined,
  ) {}

  /** Stores `m` with `payload` (its text, or the file fetched from the platform); a repeat of the same provider event changes nothing. */
  async receive(m: InboundMessage, payload: Payload): Promise<void> {
    const messageId = inboundMessageId(m.channel, m.providerEventId);
    const result = await this.db.transaction(async (tx) => {
      const contact = await upsertContact(tx, m);
      const created = contact.conversationId === null ? await this.openConversation(tx, m, contact) : undefined;
      const conversationId = contact.conversationId ?? created!.conversationId;
      if (created) await recordOpened(tx, m, contact, created);
      const exists = await tx.query('SELECT 1 FROM messages WHERE id = $1', [messageId]);
      if (exists.length > 0) return undefined;
      if (payload.type === 'file') await shareContactFile(tx, payload.file_id, conversationId, contact.id);
      const [row] = await tx.query(
        `WITH conv AS (
           UPDATE conversations SET last_seq = last_seq + 1, last_message_at = now(), last_message_preview = $4, last_message_sender_id = NULL
            WHERE id = $2 RETURNING last_seq, last_message_at),
         msg AS (
           INSERT INTO messages (id, conversation_id, seq, sender_id, sender_contact_id, payload, channels, request_hash, created_at, external_id)
           SELECT $1, $2, conv.last_seq, NULL, $3, $5, ARRAY['internal'], 'inbound', conv.last_message_at, $6 FROM conv RETURNING seq, created_at),
         box AS (
           INSERT INTO outbox (topic, key, payload)
           SELECT '${MESSAGES_TOPIC}', $2::text, jsonb_build_object('message_id', $1::uuid, 'conversation_id', $2::bigint, 'seq', msg.seq) FROM msg),
         ${messageCreatedHookCte('$1', '$2')}
         SELECT seq, created_at FROM msg`,
        [messageId, conversationId, contact.id, previewOf(payload), JSON.stringify(payload), m.externalMessageId || null],
      );
      return { conversationId, contact, created, seq: Number(row.seq), createdAt: iso(row.created_at) };
    }, 'receive-inbound');
    if (!result) return;
    this.onAccepted();
    const { conversationId, contact, created } = result;
    if (created) {
      await this.notify.toUsers(created.memberIds, 'conversation.created', {
        conversation_id: conversationId,
        conversation_type: 'channel',
        name: created.name,
        member_ids: created.memberIds,
      });
    }
    await this.notify.toConversation(conversationId, 'message.created', {
      message_id: messageId,
      conversation_id: conversationId,
      seq: result.seq,
      sender_id: null,
      sender_username: null,
      sender_contact: { contact_id: contact.id, channel: m.channel, display_name: contact.displayName },
      payload,
      channels: ['internal'],
      created_at: result.createdAt,
    });
  }

  /** A new `channel` conversation for the contact, with the channel's agents as members. */
  private async openConversation(tx: Sql, m: InboundMessage, contact: ContactRow): Promise<{ conversationId: number; memberIds: number[]; name: string }> {
    const name = contact.displayName ?? m.externalUserId;
    const [conv] = await tx.query(`INSERT INTO conversations (type, name, contact_id) VALUES ('channel', $1, $2) RETURNING id`, [name, contact.id]);
    const conversationId = Number(conv.id);
    const agents = await tx.query('SELECT id FROM users WHERE lower(username) = ANY($1::text[]) ORDER BY id', [
      this.agents[m.channel].map((a) => a.toLowerCase()),
    ]);
    const memberIds = agents.map((a) => Number(a.id));
    if (memberIds.length === 0)
      this.logger.warn(
        { channel: m.channel, conversation_id: conversationId },
        'no agents configured for this channel (CHANNEL_AGENTS): its conversation has no members yet',
      );
    // Admins: the channel's agents may add colleagues to the conversation, or leave it.
    await tx.query(`INSERT INTO members (conversation_id, user_id, role) SELECT $1, u, 'admin' FROM unnest($2::bigint[]) AS u`, [conversationId, memberIds]);
    await tx.query('UPDATE contacts SET conversation_id = $2 WHERE id = $1', [contact.id, conversationId]);
    return { conversationId, memberIds, name };
  }
}

/** Webhook events of a first message from a person: their conversation, then the contact. */
function recordOpened(tx: Sql, m: InboundMessage, contact: ContactRow, created: { conversationId: number; memberIds: number[]; name: string }) {
  const conversationId = created.conversationId;
  return recordWebhookEvents(tx, [
    {
      type: 'conversation.created',
      conversationId,
      data: { conversation_id: conversationId, conversation_type: 'channel', name: created.name, member_ids: created.memberIds },
    },
    {
      type: 'contact.created',
      conversationId,
      data: { contact_id: contact.id, channel: m.channel, external_id: m.externalUserId, display_name: contact.displayName, conversation_id: conversationId },
    },
  ]);
}

/**
 * The media the contact sent (a file without uploader, stored by the media import) becomes visible
 * to the conversation's members, with the message or not at all.
 */
async function shareContactFile(tx: Sql, fileId: string, conversationId: number, contactId: number): Promise<void> {
  await tx.query(
    `INSERT INTO file_shares (file_id, conversation_id)
     SELECT id, $2 FROM uploads WHERE id = $1 AND uploader_id IS NULL AND status = 'completed' ON CONFLICT DO NOTHING`,
    [fileId, conversationId],
  );
  await tx.query('UPDATE uploads SET source_contact_id = $3, conversation_id = $2 WHERE id = $1 AND uploader_id IS NULL', [fileId, conversationId, contactId]);
}

/** Creates or refreshes the contact; the row lock it takes serialises two first messages of one person. */
async function upsertContact(tx: Sql, m: InboundMessage): Promise<ContactRow> {
  const [row] = await tx.query(
    `INSERT INTO contacts (channel, external_id, display_name, last_inbound_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (channel, external_id) DO UPDATE SET display_name = COALESCE(EXCLUDED.display_name, contacts.display_name),
       last_inbound_at = GREATEST(contacts.last_inbound_at, EXCLUDED.last_inbound_at)
     RETURNING id, conversation_id, display_name`,
    [m.channel, m.externalUserId, m.displayName ?? null, m.at.toISOString()],
  );
  return {
    id: Number(row.id),
    conversationId: row.conversation_id === null ? null : Number(row.conversation_id),
    displayName: row.display_name === null ? null : String(row.display_name),
  };
}

/** The same provider event always becomes the same message id (a UUID derived from it). */
export function inboundMessageId(channel: ExternalChannel, providerEventId: string): string {
  const h = createHash('sha256').update(`${channel}:${providerEventId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80; // version 8: custom
  h[8] = (h[8] & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
