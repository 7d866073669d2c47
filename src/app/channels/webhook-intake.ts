/**
 * The first step of an inbound webhook: verified events are stored once each (a platform
 * redelivers until it gets a 200) with an outbox row, in one transaction; the `inbound` worker
 * does the rest. Nothing here waits for contacts, conversations or messages.
 */
import type { Database } from '../../ports/database.ts';
import type { InboundEvent } from '../../domain/inbound-event.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { INBOUND_TOPIC } from '../../domain/log-topics.ts';
import { metrics } from '../../metrics.ts';

export type StorableEvent = Exclude<InboundEvent, { kind: 'ignored' }>;

export class WebhookIntake {
  constructor(
    private readonly db: Database,
    /** Wakes this process's outbox relay. */
    private readonly onStored: () => void = () => undefined,
  ) {}

  /** Stores the events not seen before; returns how many were new and how many were repeats. */
  async store(channel: ExternalChannel, events: readonly InboundEvent[]): Promise<{ stored: number; duplicates: number }> {
    const storable = events.filter((e): e is StorableEvent => e.kind !== 'ignored');
    if (storable.length === 0) return { stored: 0, duplicates: 0 };
    const stored = await this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `INSERT INTO webhook_events (channel, provider_event_id, event)
         SELECT $1, e.id, e.event FROM unnest($2::text[], $3::jsonb[]) AS e(id, event)
         ON CONFLICT (channel, provider_event_id) DO NOTHING RETURNING id, event`,
        [channel, storable.map((e) => e.providerEventId), storable.map((e) => JSON.stringify(e))],
      );
      if (rows.length === 0) return 0;
      await tx.query(
        `INSERT INTO outbox (topic, key, payload) SELECT $1, k, jsonb_build_object('webhook_event_id', id, 'channel', $2::text) FROM unnest($3::bigint[], $4::text[]) AS x(id, k)`,
        [INBOUND_TOPIC, channel, rows.map((r) => r.id), rows.map((r) => orderingKey(channel, r.event as StorableEvent))],
      );
      return rows.length;
    }, 'store-webhook-events');
    const duplicates = storable.length - stored;
    if (stored > 0) this.onStored();
    metrics.webhookEvents.inc({ channel, outcome: 'stored' }, stored);
    if (duplicates > 0) metrics.webhookEvents.inc({ channel, outcome: 'duplicate' }, duplicates);
    return { stored, duplicates };
  }
}

/** One person's events stay in order (same partition); a status without a person goes by its message. */
function orderingKey(channel: ExternalChannel, e: StorableEvent): string {
  return `${channel}:${e.externalUserId ?? (e.kind === 'status' ? e.externalMessageId : e.providerEventId)}`;
}
