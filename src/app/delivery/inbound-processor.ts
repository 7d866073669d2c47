/**
 * Stage for the `inbound` topic: a stored webhook event becomes a message (ChannelInbox), a
 * contact's edit or reaction (ContactChanges), or status outcomes for messages we sent (the status
 * topic, the same path as the connectors' outcomes).
 */
import type { Database } from '../../ports/database.ts';
import type { EventLog, LogRecord } from '../../ports/event-log.ts';
import type { InboundMessage, InboundStatus, InboundWatermark } from '../../domain/inbound-event.ts';
import type { Payload } from '../../domain/message.ts';
import { STATUS_TOPIC, type ChannelOutcome, type LogTopics } from '../../domain/log-topics.ts';
import type { ChannelInbox } from '../channels/inbox.ts';
import type { ContactChanges } from '../channels/contact-changes.ts';
import type { StorableEvent } from '../channels/webhook-intake.ts';
import type { Logger } from '../logger.ts';
import { publishTraced } from './publish-traced.ts';

/** Turns an inbound message's content into what we store (media: fetched from the platform into a file). */
export type InboundContent = (m: InboundMessage) => Promise<Payload>;

export class InboundProcessor {
  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    private readonly inbox: ChannelInbox,
    private readonly contentOf: InboundContent,
    private readonly logger: Logger,
    private readonly contactChanges: ContactChanges,
  ) {}

  /** Processes each stored event once; a batch that fails is retried whole, and done events are skipped then. */
  async process(records: LogRecord<LogTopics, 'inbound'>[]): Promise<void> {
    const ids = records.map((r) => r.value.webhook_event_id);
    const rows = await this.db.query('SELECT id, event FROM webhook_events WHERE id = ANY($1::bigint[]) AND processed_at IS NULL ORDER BY id', [ids]);
    for (const row of rows) {
      const event = revive(row.event as StorableEvent);
      if (event.kind === 'message') await this.inbox.receive(event, await this.contentOf(event));
      else if (event.kind === 'edit') await this.contactChanges.edit(event);
      else if (event.kind === 'reaction') await this.contactChanges.react(event);
      else
        await publishTraced(
          this.log,
          (await this.outcomesOf(event)).map((o) => ({ topic: STATUS_TOPIC, key: o.message_id, value: o })),
        );
      await this.db.query('UPDATE webhook_events SET processed_at = now() WHERE id = $1', [row.id]);
    }
  }

  /** The platform's report on messages we sent, as outcomes for their deliveries (unknown ids are ignored). */
  private async outcomesOf(e: InboundStatus | InboundWatermark): Promise<ChannelOutcome[]> {
    const rows =
      e.kind === 'status'
        ? await this.db.query('SELECT message_id FROM message_channels WHERE channel = $1 AND external_id = $2', [e.channel, e.externalMessageId])
        : await this.db.query(
            `SELECT mc.message_id FROM contacts ct JOIN messages m ON m.conversation_id = ct.conversation_id
             JOIN message_channels mc ON mc.message_id = m.id AND mc.channel = ct.channel
            WHERE ct.channel = $1 AND ct.external_id = $2 AND mc.status IN ('sent', 'delivered') AND m.created_at <= $3`,
            [e.channel, e.externalUserId, e.watermark.toISOString()],
          );
    if (rows.length === 0) this.logger.debug({ channel: e.channel, event: e.providerEventId }, 'status for no message of ours');
    return rows.map((r) => ({
      message_id: String(r.message_id),
      channel: e.channel,
      status: e.status,
      ...(e.kind === 'status' && e.error ? { error: e.error.detail, provider_code: e.error.providerCode, error_class: 'platform' } : {}),
    }));
  }
}

/** Dates were stored as ISO strings. */
function revive(e: StorableEvent): StorableEvent {
  const at = new Date(e.at);
  if (e.kind === 'watermark') return { ...e, at, watermark: new Date(e.watermark) };
  return { ...e, at };
}
