/** Stage 3: a claimed channel delivery goes through its connector; the outcome goes to the status topic. */
import type { Database } from '../../ports/database.ts';
import type { EventLog, LogRecord } from '../../ports/event-log.ts';
import { ConnectorError, type Connector, type OutboundFile } from '../../ports/connector.ts';
import type { ExternalChannel, Payload } from '../../domain/message.ts';
import { DEAD_LETTER_TOPIC, STATUS_TOPIC, type ChannelTopic, type ChannelWork, type LogTopics } from '../../domain/log-topics.ts';
import { metrics } from '../../metrics.ts';
import type { Logger } from '../logger.ts';
import { SpanKind, traceparentOf, withSpan } from '../../tracing.ts';
import { publishTraced } from './publish-traced.ts';
import { ChangeSender } from './change-sender.ts';
import { failureOf, type DeliverySettings, type Failure } from './failure.ts';

export type { DeliverySettings } from './failure.ts';

/** How a connector reaches a file message's bytes. */
export type OutboundFileSource = (fileId: string) => Promise<OutboundFile>;

// See recordHealth.
const SUCCESS_WRITE_INTERVAL_MS = 1000;

export class ChannelSender {
  private readonly failing = new Set<ExternalChannel>();
  private readonly successWrittenAt = new Map<ExternalChannel, number>();
  private readonly changes: ChangeSender;

  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    private readonly connectors: ReadonlyMap<ExternalChannel, Connector>,
    private readonly settings: DeliverySettings,
    private readonly logger: Logger,
    private readonly fileOf?: OutboundFileSource,
  ) {
    this.changes = new ChangeSender(db, log, connectors, settings, logger, (channel, error) => this.recordHealth(channel, error));
  }

  /** Sends each claimed delivery (or change of a sent message) through its connector and reports the outcome on the status topic. */
  async deliver(records: LogRecord<LogTopics, ChannelTopic>[]): Promise<void> {
    await Promise.all(
      records.map((r) =>
        withSpan(
          'channel.deliver',
          traceparentOf(r),
          (span) => {
            const work = r.value;
            span?.setAttributes({ 'chat4all.message_id': work.message_id, 'chat4all.channel': work.channel, 'chat4all.attempt': work.attempt });
            const changeId = work.change_id;
            return changeId === undefined ? this.deliverOne(work) : this.changes.deliver({ ...work, change_id: changeId });
          },
          { kind: SpanKind.CONSUMER },
        ),
      ),
    );
  }

  private async deliverOne(work: ChannelWork): Promise<void> {
    const connector = this.connectors.get(work.channel);
    // Claim: only the holder of attempt N may send it; duplicates and stale wake-ups stop here.
    const claimed = await this.db.query(
      `UPDATE message_channels mc SET attempts = $3, next_attempt_at = now() + make_interval(secs => $4), updated_at = now()
        FROM messages m WHERE m.id = mc.message_id AND mc.message_id = $1 AND mc.channel = $2 AND mc.status = 'pending' AND mc.attempts = $3 - 1
       RETURNING m.conversation_id, m.sender_id, m.payload, m.recipient, m.reply_to`,
      [work.message_id, work.channel, work.attempt, this.settings.leaseMs / 1000],
    );
    const row = claimed[0];
    if (!row) return;
    // Deleted for everyone before it went out: nothing of it is left to send, and nothing is sent.
    if ((row.payload as { type: string }).type === 'deleted') return this.dropDeleted(work);
    const started = performance.now();
    try {
      if (!connector) throw new ConnectorError(`channel ${work.channel} is not enabled`, 'invalid-request');
      const payload = row.payload as Payload;
      const reply = row.reply_to && connector.capabilities.replies ? await this.replyReference(work, String(row.reply_to)) : {};
      if (reply === 'wait') return;
      const result = await connector.send({
        ...reply,
        messageId: work.message_id,
        conversationId: Number(row.conversation_id),
        senderId: Number(row.sender_id),
        to: (row.recipient as string | null) ?? undefined,
        payload,
        attempt: work.attempt,
        ...(payload.type === 'file' && this.fileOf ? { file: await this.fileOf(payload.file_id) } : {}),
      });
      metrics.connectorSends.inc({ channel: work.channel, result: 'success' });
      metrics.connectorSendDuration.observe({ channel: work.channel }, (performance.now() - started) / 1000);
      await this.recordHealth(work.channel, undefined);
      await publishTraced(this.log, [
        {
          topic: STATUS_TOPIC,
          key: work.message_id,
          value: { message_id: work.message_id, channel: work.channel, status: result.status ?? 'sent', external_id: result.externalId },
        },
      ]);
    } catch (e) {
      metrics.connectorSends.inc({ channel: work.channel, result: 'failure' });
      const failure = failureOf(e);
      metrics.connectorErrors.inc({ channel: work.channel, error_class: failure.errorClass });
      await this.recordHealth(work.channel, failure.reason);
      if (failure.isPermanent || work.attempt >= this.settings.maxAttempts) await this.deadLetter(work, failure);
      else await this.retryLater(work, failure.reason, failure.retryAfterMs);
    }
  }

  /** Ends the delivery of a message deleted before it was sent: failed, with why, and no dead letter (there is nothing to retry). */
  private async dropDeleted(work: ChannelWork): Promise<void> {
    const reason = 'the message was deleted before it was sent';
    this.logger.info({ message_id: work.message_id, channel: work.channel }, 'delivery dropped: message deleted before it was sent');
    await publishTraced(this.log, [
      {
        topic: STATUS_TOPIC,
        key: work.message_id,
        value: { message_id: work.message_id, channel: work.channel, status: 'failed', error: reason, error_class: 'deleted' },
      },
    ]);
  }

  /**
   * The platform's id of the message a reply answers, on this channel: our delivery's id, or the
   * id of the contact's own message. While the original's delivery is still pending the reply
   * waits for it (the claim is given back, the scheduler hands it out again), so the platform
   * shows it as a reply; an original that never reached the platform leaves the reply unquoted.
   */
  private async replyReference(work: ChannelWork, originalId: string): Promise<{ replyTo?: string } | 'wait'> {
    const [r] = await this.db.query(
      `SELECT mc.status, mc.external_id AS delivered_id, o.external_id AS inbound_id, ct.channel AS inbound_channel
         FROM messages o LEFT JOIN message_channels mc ON mc.message_id = o.id AND mc.channel = $2
         LEFT JOIN contacts ct ON ct.id = o.sender_contact_id WHERE o.id = $1`,
      [originalId, work.channel],
    );
    if (r?.status === 'pending') {
      await this.db.query(
        `UPDATE message_channels SET attempts = $3 - 1, next_attempt_at = now() + make_interval(secs => $4), updated_at = now()
          WHERE message_id = $1 AND channel = $2 AND attempts = $3 AND status = 'pending'`,
        [work.message_id, work.channel, work.attempt, this.settings.backoffBaseMs / 1000],
      );
      return 'wait';
    }
    const id = r?.delivered_id ?? (r?.inbound_channel === work.channel ? r.inbound_id : null);
    return id === null || id === undefined ? {} : { replyTo: String(id) };
  }

  /**
   * What GET /v1/channels shows: last success, last error, consecutive failures. Every send updates
   * the channel's one row, so successes in a row are written at most once a second per process
   * (failures always): at hundreds of sends per second the row would otherwise serialise them.
   */
  private async recordHealth(channel: ExternalChannel, error: string | undefined): Promise<void> {
    const now = Date.now();
    if (error === undefined) {
      if (!this.failing.has(channel) && now - (this.successWrittenAt.get(channel) ?? 0) < SUCCESS_WRITE_INTERVAL_MS) return;
      this.failing.delete(channel);
      this.successWrittenAt.set(channel, now);
    } else this.failing.add(channel);
    await this.db.query(
      error === undefined
        ? `INSERT INTO channel_health (channel, last_success_at) VALUES ($1, now())
           ON CONFLICT (channel) DO UPDATE SET last_success_at = now(), consecutive_failures = 0`
        : `INSERT INTO channel_health (channel, last_error_at, last_error, consecutive_failures) VALUES ($1, now(), $2, 1)
           ON CONFLICT (channel) DO UPDATE SET last_error_at = now(), last_error = $2, consecutive_failures = channel_health.consecutive_failures + 1`,
      error === undefined ? [channel] : [channel, error.slice(0, 500)],
    );
  }

  private async retryLater(work: ChannelWork, reason: string, retryAfterMs = 0): Promise<void> {
    // The platform's Retry-After wins over our backoff when it asks for longer.
    const delayMs = Math.max(retryAfterMs, this.settings.backoffBaseMs * 2 ** (work.attempt - 1) * (0.75 + Math.random() * 0.5));
    await this.db.query(
      `UPDATE message_channels SET next_attempt_at = now() + make_interval(secs => $4), error = $5, updated_at = now()
        WHERE message_id = $1 AND channel = $2 AND attempts = $3 AND status = 'pending'`,
      [work.message_id, work.channel, work.attempt, delayMs / 1000, reason],
    );
    this.logger.info(
      { message_id: work.message_id, channel: work.channel, attempt: work.attempt, retry_in_ms: Math.round(delayMs), reason },
      'delivery failed, will retry',
    );
  }

  private async deadLetter(work: ChannelWork, failure: Failure): Promise<void> {
    const { reason } = failure;
    await this.db.query('INSERT INTO dead_letters (message_id, channel, reason, attempts) VALUES ($1, $2, $3, $4)', [
      work.message_id,
      work.channel,
      reason,
      work.attempt,
    ]);
    metrics.deadLettered.inc({ channel: work.channel });
    this.logger.warn({ message_id: work.message_id, channel: work.channel, attempts: work.attempt, reason }, 'delivery dead-lettered');
    await publishTraced(this.log, [
      {
        topic: STATUS_TOPIC,
        key: work.message_id,
        value: {
          message_id: work.message_id,
          channel: work.channel,
          status: 'failed',
          error: reason,
          error_class: failure.errorClass,
          ...(failure.providerCode ? { provider_code: failure.providerCode } : {}),
        },
      },
      { topic: DEAD_LETTER_TOPIC, key: work.message_id, value: { message_id: work.message_id, channel: work.channel, reason, attempts: work.attempt } },
    ]);
  }
}
