/**
 * Stage 3 for changes: a claimed edit, deletion or reaction of a message goes through the
 * channel's connector. A change runs only after the original's delivery on that channel has
 * settled (its platform id is known) and after every earlier change of the message there, so a
 * change made while the send is still in flight waits for it instead of being lost or reordered;
 * the status applier wakes it when the send settles. Failures are retried like sends and end as
 * dead letters; the stored message is never touched here.
 */
import type { Database } from '../../ports/database.ts';
import type { EventLog } from '../../ports/event-log.ts';
import { ConnectorError, type Connector, type PlatformMessageRef } from '../../ports/connector.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { DEAD_LETTER_TOPIC, channelTopic, type ChannelWork } from '../../domain/log-topics.ts';
import { metrics } from '../../metrics.ts';
import type { Logger } from '../logger.ts';
import type { ChannelChangeKind } from '../channel-changes.ts';
import { publishTraced } from './publish-traced.ts';
import { failureOf, type DeliverySettings, type Failure } from './failure.ts';

interface ClaimedChange {
  id: number;
  messageId: string;
  channel: ExternalChannel;
  kind: ChannelChangeKind;
  content: string | null;
}

export class ChangeSender {
  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    private readonly connectors: ReadonlyMap<ExternalChannel, Connector>,
    private readonly settings: DeliverySettings,
    private readonly logger: Logger,
    private readonly recordHealth: (channel: ExternalChannel, error: string | undefined) => Promise<void>,
  ) {}

  /** Relays one change if it is its turn (claimed by attempt, like a delivery); otherwise leaves it for its wake-up. */
  async deliver(work: ChannelWork & { change_id: number }): Promise<void> {
    const change = await this.claim(work);
    if (!change) return;
    try {
      const connector = this.connectors.get(change.channel);
      if (!connector) throw new ConnectorError(`channel ${change.channel} is not enabled`, 'invalid-request');
      const ref = await this.platformRef(change);
      if (!ref) {
        // The original never reached the platform (its delivery failed): nothing there to change.
        await this.finish(change, work.attempt, 'skipped', {
          reason: `the message never reached ${change.channel}`,
          isPermanent: true,
          errorClass: 'not-sent',
        });
        return;
      }
      await this.apply(connector, change, ref);
      metrics.connectorSends.inc({ channel: change.channel, result: 'success' });
      await this.recordHealth(change.channel, undefined);
      await this.finish(change, work.attempt, 'sent');
    } catch (e) {
      metrics.connectorSends.inc({ channel: change.channel, result: 'failure' });
      const failure = failureOf(e);
      metrics.connectorErrors.inc({ channel: change.channel, error_class: failure.errorClass });
      await this.recordHealth(change.channel, failure.reason);
      if (failure.isPermanent || work.attempt >= this.settings.maxAttempts) await this.deadLetter(change, work.attempt, failure);
      else await this.retryLater(change, work.attempt, failure);
    }
  }

  /**
   * Only the holder of attempt N may run it, and only when it is its turn: the message has been
   * routed, its delivery on the channel (if any) is no longer pending, and no earlier change of it
   * on the channel is pending.
   */
  private async claim(work: ChannelWork & { change_id: number }): Promise<ClaimedChange | undefined> {
    const [row] = await this.db.query(
      `UPDATE message_channel_changes c SET attempts = $2, next_attempt_at = now() + make_interval(secs => $3), updated_at = now()
        WHERE c.id = $1 AND c.status = 'pending' AND c.attempts = $2 - 1
          AND EXISTS (SELECT 1 FROM messages m WHERE m.id = c.message_id AND m.routed_at IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM message_channels mc WHERE mc.message_id = c.message_id AND mc.channel = c.channel AND mc.status = 'pending')
          AND NOT EXISTS (SELECT 1 FROM message_channel_changes e WHERE e.message_id = c.message_id AND e.channel = c.channel AND e.id < c.id AND e.status = 'pending')
       RETURNING c.id, c.message_id, c.channel, c.kind, c.content`,
      [work.change_id, work.attempt, this.settings.leaseMs / 1000],
    );
    if (!row) return undefined;
    return {
      id: Number(row.id),
      messageId: String(row.message_id),
      channel: row.channel as ExternalChannel,
      kind: row.kind as ChannelChangeKind,
      content: row.content === null ? null : String(row.content),
    };
  }

  /** Where the message is on the platform: our delivery's id, or the id of the contact's own message; undefined when it has none. */
  private async platformRef(change: ClaimedChange): Promise<PlatformMessageRef | undefined> {
    const [r] = await this.db.query(
      `SELECT mc.external_id AS delivered_id, m.external_id AS inbound_id, ct.channel AS inbound_channel, COALESCE(m.recipient, cc.external_id) AS chat
         FROM messages m LEFT JOIN message_channels mc ON mc.message_id = m.id AND mc.channel = $2
         LEFT JOIN contacts ct ON ct.id = m.sender_contact_id
         JOIN conversations cv ON cv.id = m.conversation_id LEFT JOIN contacts cc ON cc.id = cv.contact_id
        WHERE m.id = $1`,
      [change.messageId, change.channel],
    );
    const externalId = r?.delivered_id ?? (r?.inbound_channel === change.channel ? r.inbound_id : null);
    if (!r || externalId === null || externalId === undefined || !r.chat) return undefined;
    return { messageId: change.messageId, to: String(r.chat), externalId: String(externalId) };
  }

  private async apply(connector: Connector, change: ClaimedChange, ref: PlatformMessageRef): Promise<void> {
    const unsupported = () => new ConnectorError(`${change.channel} does not relay ${change.kind}s`, 'invalid-request');
    if (change.kind === 'edit') {
      if (!connector.editText) throw unsupported();
      return connector.editText(ref, change.content ?? '');
    }
    if (change.kind === 'delete') {
      if (!connector.deleteMessage) throw unsupported();
      return connector.deleteMessage(ref);
    }
    if (!connector.setReaction) throw unsupported();
    return connector.setReaction(ref, await this.currentReaction(change.messageId));
  }

  /**
   * Our account has one reaction per message on these platforms: the one our users (not the contact) put on it
   * last, or none when they took them all back. Read when the change runs, so that repeats and
   * reorderings converge on the stored state.
   */
  private async currentReaction(messageId: string): Promise<string | undefined> {
    const [r] = await this.db.query(
      'SELECT emoji FROM message_reactions WHERE message_id = $1 AND user_id IS NOT NULL ORDER BY created_at DESC, emoji LIMIT 1',
      [messageId],
    );
    return r ? String(r.emoji) : undefined;
  }

  /** Ends the change and hands out the next one of the message on this channel, which waited for it. */
  private async finish(change: ClaimedChange, attempt: number, status: 'sent' | 'skipped' | 'failed', failure?: Failure): Promise<void> {
    await this.db.query(
      `UPDATE message_channel_changes SET status = $3, error = $4, provider_code = $5, error_class = $6, updated_at = now()
        WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
      [change.id, attempt, status, failure?.reason ?? null, failure?.providerCode ?? null, failure?.errorClass ?? null],
    );
    const next = await this.db.query(
      `UPDATE message_channel_changes SET next_attempt_at = now() + make_interval(secs => $3)
        WHERE id = (SELECT id FROM message_channel_changes WHERE message_id = $1 AND channel = $2 AND status = 'pending' ORDER BY id LIMIT 1)
       RETURNING id, attempts`,
      [change.messageId, change.channel, this.settings.leaseMs / 1000],
    );
    await publishTraced(
      this.log,
      next.map((n) => ({
        topic: channelTopic(change.channel),
        key: change.messageId,
        value: { message_id: change.messageId, channel: change.channel, attempt: Number(n.attempts) + 1, change_id: Number(n.id) },
      })),
    );
  }

  private async retryLater(change: ClaimedChange, attempt: number, failure: Failure): Promise<void> {
    const delayMs = Math.max(failure.retryAfterMs ?? 0, this.settings.backoffBaseMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
    await this.db.query(
      `UPDATE message_channel_changes SET next_attempt_at = now() + make_interval(secs => $3), error = $4, updated_at = now()
        WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
      [change.id, attempt, delayMs / 1000, failure.reason],
    );
    this.logger.info(
      {
        message_id: change.messageId,
        channel: change.channel,
        change_id: change.id,
        kind: change.kind,
        attempt,
        retry_in_ms: Math.round(delayMs),
        reason: failure.reason,
      },
      'channel change failed, will retry',
    );
  }

  /** A change given up: failed on the change row, a dead letter naming it, a warning and the dead-letter topic. */
  private async deadLetter(change: ClaimedChange, attempt: number, failure: Failure): Promise<void> {
    await this.db.query('INSERT INTO dead_letters (message_id, channel, reason, attempts, change_id) VALUES ($1, $2, $3, $4, $5)', [
      change.messageId,
      change.channel,
      `${change.kind}: ${failure.reason}`,
      attempt,
      change.id,
    ]);
    metrics.deadLettered.inc({ channel: change.channel });
    this.logger.warn(
      { message_id: change.messageId, channel: change.channel, change_id: change.id, kind: change.kind, attempts: attempt, reason: failure.reason },
      'channel change dead-lettered',
    );
    await this.finish(change, attempt, 'failed', failure);
    await publishTraced(this.log, [
      {
        topic: DEAD_LETTER_TOPIC,
        key: change.messageId,
        value: { message_id: change.messageId, channel: change.channel, reason: `${change.kind}: ${failure.reason}`, attempts: attempt },
      },
    ]);
  }
}
