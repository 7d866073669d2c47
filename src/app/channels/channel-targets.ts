/**
 * Where a send goes besides internal members: a `channel` conversation sends every message to its
 * contact's platform; elsewhere the client names the channels. Checks the platforms' rules at accept.
 */
import type { Sql } from '../../ports/database.ts';
import { invalid } from '../../domain/errors.ts';
import { checkChannelSend } from '../../domain/channel-send.ts';
import { CHANNELS, normaliseChannels, type Channel, type ExternalChannel, type Payload } from '../../domain/message.ts';

export interface Resolved {
  channels: Channel[];
  to: string | null;
}

// A conversation's type never changes: remembering the ones that are not channel conversations
// saves the send path a query. Bounded so that a long-running process does not grow without end.
const MAX_REMEMBERED = 100_000;

export class ChannelTargets {
  private readonly plain = new Set<number>();

  constructor(
    /** Channels that may be sent to: live, or mocked outside production. */
    private readonly enabled: ReadonlySet<ExternalChannel>,
    private readonly windowHours: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The channels and recipient to store for a send; throws channel-disabled, template-not-supported, channel-window-closed. */
  async resolve(sql: Sql, conversationId: number, requested: readonly string[] | undefined, payload: Payload, to: string | undefined): Promise<Resolved> {
    const contact = this.plain.has(conversationId) ? undefined : await this.contactOf(sql, conversationId);
    if (!contact) {
      if (payload.type === 'template') throw invalid('template-not-supported', 'Template messages go to WhatsApp contacts only, in their channel conversation');
      const channels = normaliseChannels(requested);
      const disabled = channels.filter((c): c is ExternalChannel => c !== 'internal' && !this.enabled.has(c));
      if (disabled.length > 0) throw invalid('channel-disabled', `Channel ${disabled.join(', ')} is not configured on this server`, { channels: disabled });
      return { channels, to: to ?? null };
    }
    if (!this.enabled.has(contact.channel))
      throw invalid('channel-disabled', `Channel ${contact.channel} is not configured on this server`, { channels: [contact.channel] });
    checkChannelSend({ channel: contact.channel, payload, lastInboundAt: contact.lastInboundAt, now: this.now(), windowHours: this.windowHours });
    return { channels: ['internal', contact.channel], to: contact.externalId };
  }

  private async contactOf(sql: Sql, conversationId: number): Promise<{ channel: ExternalChannel; externalId: string; lastInboundAt: Date | null } | undefined> {
    const rows = await sql.query(
      `SELECT c.type, ct.channel, ct.external_id, ct.last_inbound_at FROM conversations c LEFT JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = $1`,
      [conversationId],
    );
    const row = rows[0];
    if (!row) return undefined; // the accept reports the unknown conversation
    if (row.type !== 'channel' || !isExternal(String(row.channel))) {
      if (this.plain.size >= MAX_REMEMBERED) this.plain.clear();
      this.plain.add(conversationId);
      return undefined;
    }
    return {
      channel: row.channel as ExternalChannel,
      externalId: String(row.external_id),
      lastInboundAt: row.last_inbound_at ? new Date(row.last_inbound_at as string) : null,
    };
  }
}

const isExternal = (c: string): c is ExternalChannel => (CHANNELS as readonly string[]).includes(c);
