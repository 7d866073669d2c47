/** Sending (idempotent, per-conversation seq, transactional outbox), history and message details. */
import { createHash } from 'node:crypto';
import type { Database, Sql } from '../ports/database.ts';
import { conflict, invalid, notFound } from '../domain/errors.ts';
import { previewOf, type Channel, type ExternalChannel, type FilePayload, type Payload, type TemplatePayload } from '../domain/message.ts';
import { codePointLength, textFault } from '../domain/text.ts';
import { metrics } from '../metrics.ts';
import { isUniqueViolation } from './sql-errors.ts';
import { hiddenUpToSql, requireMember, visibleAfterSql } from './membership.ts';
import type { Notifier } from './notify.ts';
import type { Receipts } from './receipts.ts';
import { iso } from './time.ts';
import { currentTraceHeaders, withSpan } from '../tracing.ts';
import { AcceptBatcher, acceptRows, type AcceptBatchOptions, type AcceptOutcome, type AcceptRow } from './accept-batch.ts';
import type { EventMap, ReactionCount, ReplyQuote } from '../domain/events.ts';
import type { ChannelTargets } from './channels/channel-targets.ts';
import { replyQuoteFor } from './replies.ts';

export interface SendRequest {
  message_id: string;
  conversation_id: number;
  payload: { type: 'text'; content: string } | { type: 'file'; file_id: string } | TemplatePayload;
  channels?: string[];
  to?: string;
  /** The id of a message of the same conversation this one answers. */
  reply_to?: string;
}

export interface Accepted {
  status: 'accepted';
  message_id: string;
  conversation_id: number;
  seq: number;
  created_at: string;
}

/**
 * Looks up a completed file the sender may share and returns the payload to store (files feature);
 * runs in the send transaction and records that the file was shared in `conversationId`.
 */
export type FileResolver = (sql: Sql, senderId: number, fileId: string, conversationId: number) => Promise<FilePayload>;

/**
 * A message as clients see it: the `message.created` event plus its status and what changed since:
 * `version` (0 until the first edit, deletion or reaction change), `edited_at`, `deleted_at` (a
 * tombstone: payload {type: "deleted"}) and reactions with `me` for the viewer.
 */
export type MessageView = EventMap['message.created'] & {
  status: string;
  version: number;
  edited_at: string | null;
  deleted_at: string | null;
  reactions: ReactionCount[];
};

type Acceptance = { accepted: Accepted; isReplay: boolean; event?: { payload: Payload } };

/** Defaults of ACCEPT_BATCH_MAX_WAIT_MS and ACCEPT_BATCH_MAX. */
export const DEFAULT_ACCEPT_BATCH: AcceptBatchOptions = { maxWaitMs: 1, max: 200 };

/**
 * The columns of a MessageView as `viewer` (an SQL expression: the caller's user id) sees it:
 * reactions say whether the viewer is among them, and a reply carries a quote of its original.
 */
export const messageColumns = (
  viewer: string,
) => `m.id, m.conversation_id, m.seq, m.sender_id, u.username AS sender_username, u.kind = 'bot' AS sender_is_bot, m.sender_contact_id,
  ct.channel AS contact_channel, ct.display_name AS contact_name, m.payload, m.channels, m.status, m.created_at, m.version, m.edited_at, m.deleted_at,
  m.reply_to, r.sender_id AS reply_sender_id, ru.username AS reply_sender_username, r.payload AS reply_payload, r.deleted_at AS reply_deleted_at,
  COALESCE((SELECT jsonb_agg(jsonb_build_object('emoji', x.emoji, 'count', x.n, 'me', x.me) ORDER BY x.first_at, x.emoji)
              FROM (SELECT emoji, count(*) AS n, bool_or(user_id = ${viewer}) AS me, min(created_at) AS first_at
                      FROM message_reactions WHERE message_id = m.id GROUP BY emoji) x), '[]'::jsonb) AS reactions`;
// A message's sender is a user or, for inbound channel messages, a contact; `r` is the message it replies to.
export const MESSAGES_WITH_SENDER = `messages m LEFT JOIN users u ON u.id = m.sender_id LEFT JOIN contacts ct ON ct.id = m.sender_contact_id
  LEFT JOIN messages r ON r.id = m.reply_to LEFT JOIN users ru ON ru.id = r.sender_id`;

export class Messages {
  private readonly batcher: AcceptBatcher;

  constructor(
    private readonly db: Database,
    private readonly notify: Notifier,
    private readonly receipts: Receipts,
    private readonly maxTextLength: number,
    private readonly targets: ChannelTargets,
    private readonly resolveFile?: FileResolver,
    /** Called after each commit so that the in-process relay does not wait for its next poll. */
    private readonly onAccepted: () => void = () => undefined,
    batch: AcceptBatchOptions = DEFAULT_ACCEPT_BATCH,
    /** Whether the channel's connector relays replies (capability `replies`). */
    private readonly channelRelaysReplies: (channel: ExternalChannel) => boolean = () => false,
  ) {
    this.batcher = new AcceptBatcher(db, batch, onAccepted);
  }

  /** Accepts a message: committed with its seq and outbox event, or the original answer on a retry. */
  async send(senderId: number, senderUsername: string, req: SendRequest, isBot = false): Promise<{ accepted: Accepted; isReplay: boolean }> {
    return withSpan('message.accept', undefined, (span) => {
      span?.setAttributes({ 'chat4all.message_id': req.message_id, 'chat4all.conversation_id': req.conversation_id });
      return this.accept(senderId, senderUsername, req, isBot);
    });
  }

  /** Text as users count it (code points: an emoji is one), and only real text: every entry point sends through here. */
  private checkText(content: string): void {
    const fault = textFault(content);
    if (fault) throw invalid('invalid-text', `The message text ${fault}`, { errors: [{ path: '/payload/content', message: fault }] });
    const length = codePointLength(content);
    if (length === 0 || length > this.maxTextLength) {
      throw invalid('validation-failed', `Text must have 1 to ${this.maxTextLength} characters`, {
        errors: [{ path: '/payload/content', message: `must have 1 to ${this.maxTextLength} characters (code points)` }],
      });
    }
  }

  private async accept(senderId: number, senderUsername: string, req: SendRequest, isBot: boolean): Promise<{ accepted: Accepted; isReplay: boolean }> {
    if (req.payload.type === 'text') this.checkText(req.payload.content);
    const { channels, to } = await this.targets.resolve(this.db, req.conversation_id, req.channels, req.payload, req.to);
    const requestHash = fingerprint(senderId, req, channels, to);
    const quote = req.reply_to ? await this.replyQuote(senderId, req, channels) : undefined;
    try {
      const result =
        req.payload.type === 'file'
          ? await this.acceptFile(senderId, req, channels, to, requestHash)
          : await this.acceptInline(senderId, req, inlinePayload(req.payload), channels, to, requestHash);
      if (result.event) {
        metrics.messagesAccepted.inc();
        this.notify.toConversation(req.conversation_id, 'message.created', {
          message_id: req.message_id,
          conversation_id: req.conversation_id,
          seq: result.accepted.seq,
          sender_id: senderId,
          sender_username: senderUsername,
          sender_is_bot: isBot,
          payload: result.event.payload,
          channels,
          created_at: result.accepted.created_at,
          ...(quote ? { reply_to: quote } : {}),
        });
      }
      return { accepted: result.accepted, isReplay: result.isReplay };
    } catch (e) {
      // The id exists already: a retry (same body → the original answer) or a conflict.
      if (isUniqueViolation(e)) {
        const replay = await findReplay(this.db, req.message_id, requestHash);
        if (replay) return { accepted: replay, isReplay: true };
      }
      throw e;
    }
  }

  /**
   * A reply quotes a message of its conversation; a channel whose connector does not relay replies
   * (capability `replies`) refuses it. The platform's reply reference is added at delivery.
   */
  private async replyQuote(senderId: number, req: SendRequest, channels: Channel[]): Promise<ReplyQuote> {
    const external = channels.find((c): c is ExternalChannel => c !== 'internal' && !this.channelRelaysReplies(c));
    if (external)
      throw conflict('not-supported-by-channel', `${external} does not support replies through this service`, { channel: external, feature: 'replies' });
    return replyQuoteFor(this.db, senderId, req.conversation_id, req.reply_to!);
  }

  /**
   * The common case, committed with the other sends of this moment (group commit, accept-batch.ts):
   * membership check, next seq, message, sender's cursors and outbox row. A duplicate id is not
   * inserted, so a retry never consumes a seq; it is answered once the batch has committed.
   */
  private async acceptInline(
    senderId: number,
    req: SendRequest,
    payload: Payload,
    channels: Channel[],
    to: string | null,
    requestHash: string,
  ): Promise<Acceptance> {
    const outcome = await this.batcher.accept(acceptRow(senderId, req, payload, channels, to, requestHash));
    if (outcome.outcome === 'accepted') return { accepted: acceptedOf(req, outcome), isReplay: false, event: { payload } };
    if (outcome.outcome === 'taken') {
      const replay = await findReplay(this.db, req.message_id, requestHash); // or 409
      if (replay) return { accepted: replay, isReplay: true };
    }
    await requireMember(this.db, req.conversation_id, senderId); // throws the precise 404/403
    throw new Error('message not accepted although the sender is a member');
  }

  /** File messages resolve the file inside the transaction (it must be completed and shareable). */
  private async acceptFile(senderId: number, req: SendRequest, channels: Channel[], to: string | null, requestHash: string): Promise<Acceptance> {
    const result = await this.db.transaction(async (tx): Promise<Acceptance> => {
      const replay = await findReplay(tx, req.message_id, requestHash);
      if (replay) return { accepted: replay, isReplay: true };
      await requireMember(tx, req.conversation_id, senderId);
      const payload = await this.storedPayload(tx, senderId, req.payload, req.conversation_id);
      const [outcome] = await acceptRows(tx, [acceptRow(senderId, req, payload, channels, to, requestHash)]);
      if (outcome.outcome === 'accepted') return { accepted: acceptedOf(req, outcome), isReplay: false, event: { payload } };
      // Another request committed this id since the check above (the member check ran in this transaction).
      const raced = await findReplay(tx, req.message_id, requestHash);
      if (!raced) throw new Error(`file message not accepted (${outcome.outcome}) after the checks above`);
      return { accepted: raced, isReplay: true };
    }, 'accept-file-message');
    if (result.event) this.onAccepted();
    return result;
  }

  /**
   * History of a conversation: newest first by offset, or oldest first after a seq, or before a seq.
   * A member of a `joined` group sees only messages after their join; `total` counts what they may see.
   */
  async history(userId: number, conversationId: number, q: { limit: number; offset: number; after_seq?: number; before_seq?: number }) {
    const me = await requireMember(this.db, conversationId, userId);
    const from = me.hiddenUpTo;
    const select = (viewer: string) => `SELECT ${messageColumns(viewer)} FROM ${MESSAGES_WITH_SENDER} WHERE m.conversation_id = $1`;
    let rows;
    let total: number;
    if (q.after_seq !== undefined) {
      const after = Math.max(q.after_seq, from);
      rows = await this.db.query(`${select('$4')} AND m.seq > $2 ORDER BY m.seq ASC LIMIT $3`, [conversationId, after, q.limit + 1, userId]);
      total = Math.max(0, me.lastSeq - after);
    } else if (q.before_seq !== undefined) {
      rows = await this.db.query(`${select('$5')} AND m.seq < $2 AND m.seq > $4 ORDER BY m.seq DESC LIMIT $3`, [
        conversationId,
        q.before_seq,
        q.limit + 1,
        from,
        userId,
      ]);
      total = Math.max(0, Math.min(q.before_seq - 1, me.lastSeq) - from);
    } else {
      rows = await this.db.query(`${select('$5')} AND m.seq > $4 ORDER BY m.seq DESC LIMIT $2 OFFSET $3`, [
        conversationId,
        q.limit + 1,
        q.offset,
        from,
        userId,
      ]);
      total = Math.max(0, me.lastSeq - from);
    }
    const hasMore = rows.length > q.limit;
    const messages = rows.slice(0, q.limit).map(toView);
    // Fetching counts as receiving: the newest seq returned is acknowledged for this member.
    const newest = Math.max(0, ...messages.map((m) => m.seq));
    if (newest > me.deliveredSeq) await this.receipts.acknowledge(userId, conversationId, newest);
    return {
      messages,
      total,
      limit: q.limit,
      offset: q.after_seq === undefined && q.before_seq === undefined ? q.offset : 0,
      has_more: hasMore,
      last_version: me.lastVersion,
    };
  }

  /** Messages after `afterSeq` that `userId` may see, oldest first, for WebSocket catch-up; none for a non-member. */
  async since(userId: number, conversationId: number, afterSeq: number, limit: number): Promise<MessageView[]> {
    const rows = await this.db.query(
      `SELECT ${messageColumns('$4')} FROM ${MESSAGES_WITH_SENDER}
        WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq > ${visibleAfterSql('$1', '$4')} ORDER BY m.seq ASC LIMIT $3`,
      [conversationId, afterSeq, limit, userId],
    );
    return rows.map(toView);
  }

  /** One message with per-recipient and per-channel statuses and its history; 404 unless the caller is a member. */
  async details(userId: number, messageId: string) {
    const rows = await this.db.query(
      `SELECT ${messageColumns('$2')} FROM ${MESSAGES_WITH_SENDER}
        WHERE m.id = $1 AND m.seq > ${visibleAfterSql('m.conversation_id', '$2')}`,
      [messageId, userId],
    );
    if (!rows[0]) throw notFound('message-not-found', `Message ${messageId} does not exist or is not visible to you`);
    const view = toView(rows[0]);
    const [recipients, channels, history, changes] = await Promise.all([
      this.db.query(
        // Members who may not see the message (they joined a `joined` group after it) are not its recipients.
        `SELECT m.user_id, m.delivered_seq, m.read_seq, m.delivered_at, m.read_at FROM members m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.conversation_id = $1 AND m.user_id IS DISTINCT FROM $2 AND ${hiddenUpToSql()} < $3 ORDER BY m.user_id`,
        [view.conversation_id, view.sender_id, view.seq],
      ),
      this.db.query(
        'SELECT channel, status, updated_at, error, attempts, external_id, provider_code, error_class FROM message_channels WHERE message_id = $1 ORDER BY channel',
        [messageId],
      ),
      this.db.query('SELECT status, channel, detail, at FROM message_status_history WHERE message_id = $1 ORDER BY id', [messageId]),
      this.db.query(
        'SELECT id, channel, kind, status, attempts, error, provider_code, error_class, updated_at FROM message_channel_changes WHERE message_id = $1 ORDER BY id',
        [messageId],
      ),
    ]);
    const isRouted = view.status !== 'accepted';
    return {
      ...view,
      statuses: {
        recipients: view.channels.includes('internal')
          ? recipients.map((r) => {
              const status = Number(r.read_seq) >= view.seq ? 'read' : Number(r.delivered_seq) >= view.seq ? 'delivered' : isRouted ? 'sent' : 'accepted';
              const at = status === 'read' ? r.read_at : status === 'delivered' ? r.delivered_at : null;
              return { user_id: Number(r.user_id), status, at: at ? iso(at) : null };
            })
          : [],
        channels: channels.map(channelStatusView),
        channel_changes: changes.map(channelChangeView),
      },
      history: history.map((h) => ({
        status: String(h.status),
        ...(h.channel ? { channel: String(h.channel) } : {}),
        ...(h.detail ? { detail: String(h.detail) } : {}),
        at: iso(h.at),
      })),
    };
  }

  private async storedPayload(tx: Sql, senderId: number, payload: SendRequest['payload'], conversationId: number): Promise<Payload> {
    if (payload.type !== 'file') return inlinePayload(payload);
    if (!this.resolveFile) throw invalid('file-not-found', `File ${payload.file_id} does not exist or is not completed`);
    return this.resolveFile(tx, senderId, payload.file_id, conversationId);
  }
}

/**
 * One channel delivery as GET /v1/messages/{id} shows it: the platform's id once sent; `error`
 * (text, as before live channels) and `failure` {code, provider_code, detail} when it failed.
 */
function channelStatusView(c: Record<string, unknown>) {
  return {
    channel: String(c.channel),
    status: String(c.status),
    at: iso(c.updated_at),
    attempts: Number(c.attempts),
    ...(c.external_id ? { external_id: String(c.external_id) } : {}),
    ...(c.error ? { error: String(c.error) } : {}),
    ...failureView(c),
  };
}

/** `failure` {code, provider_code, detail} of a failed delivery or change; nothing otherwise. */
function failureView(c: Record<string, unknown>) {
  if (c.status !== 'failed') return {};
  return {
    failure: {
      code: String(c.error_class ?? 'failed'),
      provider_code: c.provider_code === null ? null : String(c.provider_code),
      detail: String(c.error ?? ''),
    },
  };
}

/** An edit, deletion or reaction relayed to a channel: pending, sent, failed (with why) or skipped (the original never reached it). */
function channelChangeView(c: Record<string, unknown>) {
  return {
    change_id: Number(c.id),
    channel: String(c.channel),
    kind: String(c.kind),
    status: String(c.status),
    attempts: Number(c.attempts),
    at: iso(c.updated_at),
    ...(c.error ? { error: String(c.error) } : {}),
    ...failureView(c),
  };
}

function acceptRow(senderId: number, req: SendRequest, payload: Payload, channels: Channel[], to: string | null, requestHash: string): AcceptRow {
  return {
    id: req.message_id,
    conversation_id: req.conversation_id,
    sender_id: senderId,
    payload,
    channels,
    recipient: to,
    request_hash: requestHash,
    preview: previewOf(payload),
    headers: currentTraceHeaders() ?? null,
    reply_to: req.reply_to ?? null,
  };
}

function acceptedOf(req: SendRequest, outcome: Extract<AcceptOutcome, { outcome: 'accepted' }>): Accepted {
  return { status: 'accepted', message_id: req.message_id, conversation_id: req.conversation_id, seq: outcome.seq, created_at: iso(outcome.created_at) };
}

async function findReplay(sql: Sql, messageId: string, requestHash: string): Promise<Accepted | undefined> {
  const rows = await sql.query('SELECT id, conversation_id, seq, request_hash, created_at FROM messages WHERE id = $1', [messageId]);
  const row = rows[0];
  if (!row) return undefined;
  if (row.request_hash !== requestHash) throw conflict('idempotency-conflict', `Message ${messageId} was already sent with a different body or sender`);
  return { status: 'accepted', message_id: messageId, conversation_id: Number(row.conversation_id), seq: Number(row.seq), created_at: iso(row.created_at) };
}

function fingerprint(senderId: number, req: SendRequest, channels: Channel[], to: string | null): string {
  return createHash('sha256')
    .update(JSON.stringify([senderId, req.conversation_id, canonicalPayload(req.payload), channels, to, ...(req.reply_to ? [req.reply_to] : [])]))
    .digest('hex');
}

/** The stored form of a payload that needs no lookup (text, template), with only the known keys. */
function inlinePayload(p: Exclude<SendRequest['payload'], { type: 'file' }>): Payload {
  if (p.type === 'text') return { type: 'text', content: p.content };
  return { type: 'template', name: p.name, language: p.language, ...(p.components ? { components: p.components } : {}) };
}

// Key order of the client's JSON must not matter for idempotency.
const canonicalPayload = (p: SendRequest['payload']) =>
  p.type === 'text' ? ['text', p.content] : p.type === 'file' ? ['file', p.file_id] : ['template', p.name, p.language, p.components ?? null];

/** The fields that name a message and its sender, from a row of `messages` joined with its sender (views, search hits, webhook data). */
export function messageHead(r: Record<string, unknown>) {
  return {
    message_id: String(r.id),
    conversation_id: Number(r.conversation_id),
    seq: Number(r.seq),
    sender_id: r.sender_id === null ? null : Number(r.sender_id),
    sender_username: r.sender_username === null ? null : String(r.sender_username),
  };
}

export function toView(r: Record<string, unknown>): MessageView {
  return {
    ...messageHead(r),
    sender_is_bot: r.sender_is_bot === true,
    ...(r.sender_contact_id === null || r.sender_contact_id === undefined
      ? {}
      : {
          sender_contact: {
            contact_id: Number(r.sender_contact_id),
            channel: r.contact_channel as ExternalChannel,
            display_name: r.contact_name === null ? null : String(r.contact_name),
          },
        }),
    payload: r.payload as Payload,
    channels: r.channels as Channel[],
    status: String(r.status),
    created_at: iso(r.created_at),
    reply_to: r.reply_to ? replyQuote(r) : null,
    version: Number(r.version ?? 0),
    edited_at: r.edited_at ? iso(r.edited_at) : null,
    deleted_at: r.deleted_at ? iso(r.deleted_at) : null,
    reactions: ((r.reactions as ReactionCount[] | undefined) ?? []).map((x) => ({ emoji: x.emoji, count: Number(x.count), me: Boolean(x.me) })),
  };
}

/** The quote of the original from the `reply_*` columns of messageColumns. */
function replyQuote(r: Record<string, unknown>): ReplyQuote {
  const deleted = Boolean(r.reply_deleted_at);
  return {
    message_id: String(r.reply_to),
    sender_id: r.reply_sender_id === null ? null : Number(r.reply_sender_id),
    sender_username: r.reply_sender_username === null ? null : String(r.reply_sender_username),
    excerpt: deleted ? null : previewOf(r.reply_payload as Payload),
    deleted,
  };
}
