/**
 * Group commit of accepts: sends that arrive within a short window are written by one set-based
 * statement (one round trip, one commit). Every rule stays per message: the statement reports,
 * for each input row, whether its sender is a member and whether it was inserted; the caller turns
 * the rest into a replay, a 409 or a 403/404 after the commit, one request at a time.
 */
import type { Database, Sql } from '../ports/database.ts';
import { MESSAGES_TOPIC } from '../domain/log-topics.ts';
import { messageCreatedBatchHookCte } from './webhooks/record.ts';
import type { Channel, Payload } from '../domain/message.ts';

/** One message to accept, as stored. */
export interface AcceptRow {
  id: string;
  conversation_id: number;
  sender_id: number;
  payload: Payload;
  channels: Channel[];
  recipient: string | null;
  request_hash: string;
  /** The message this one replies to (checked before the accept: same conversation, visible to the sender). */
  reply_to: string | null;
  /** The conversation list's preview when this is the conversation's newest message. */
  preview: string | null;
  /** Trace headers of the outbox row (the W3C context the router continues); null when untraced. */
  headers: Record<string, string> | null;
}

/**
 * `accepted` with its seq; `not-member`: nothing written (no such conversation, or the sender is not
 * a member); `taken`: the id exists (before this batch or earlier in it), a replay or a conflict.
 */
export type AcceptOutcome = { outcome: 'accepted'; seq: number; created_at: unknown } | { outcome: 'not-member' } | { outcome: 'taken' };

// The request's columns of `messages` with their SQL types, in the order of the INSERT below.
// A new message column is one line here (and one key in AcceptRow).
const MESSAGE_INPUT: readonly (readonly [keyof AcceptRow, string])[] = [
  ['id', 'uuid'],
  ['conversation_id', 'bigint'],
  ['sender_id', 'bigint'],
  ['payload', 'jsonb'],
  ['channels', 'text[]'],
  ['recipient', 'text'],
  ['request_hash', 'text'],
  ['reply_to', 'uuid'],
];
const INPUT_COLUMNS = [...MESSAGE_INPUT, ['preview', 'text'], ['headers', 'jsonb']] as const;
const inserted = MESSAGE_INPUT.map(([name]) => name).join(', ');

/*
 * $1: a JSON array of AcceptRow plus `ord` (arrival order). The rows become a record set (one
 * parameter, the same on pg and PGlite), then:
 * - checked: each row's membership (read once, reported back for the precise 403/404);
 * - fresh: the first row of each id that is new and whose sender is a member;
 * - conv: each conversation's last_seq moves by its count of fresh rows (one row version per
 *   conversation per batch); seqs follow arrival order within the conversation;
 * - sender: the sender's cursors step over its own messages only when already caught up, as with
 *   one message at a time: jumping over others' unread messages would mark them read without a
 *   receipt. Only the run of the sender's consecutive seqs that starts right after a cursor counts,
 *   and members rows that do not move are not rewritten;
 * - box: one outbox row per message, in arrival order;
 * - hook: a `message.created` webhook event per message that some endpoint should receive.
 * A duplicate id committed by another transaction meanwhile fails the statement (unique violation):
 * the batcher then retries each row alone.
 */
const ACCEPT_BATCH_SQL = `
  WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(ord int, ${INPUT_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')})),
  checked AS (
    SELECT i.ord, EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = i.conversation_id AND m.user_id = i.sender_id) AS is_member FROM input i),
  fresh AS (
    SELECT DISTINCT ON (i.id) i.* FROM input i JOIN checked c ON c.ord = i.ord
     WHERE c.is_member AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.id = i.id)
     ORDER BY i.id, i.ord),
  numbered AS (
    SELECT f.*, row_number() OVER (PARTITION BY f.conversation_id ORDER BY f.ord) AS n,
           count(*) OVER (PARTITION BY f.conversation_id) AS total FROM fresh f),
  conv AS (
    UPDATE conversations c SET last_seq = c.last_seq + l.total, last_message_at = now(), last_message_preview = l.preview, last_message_sender_id = l.sender_id
      FROM (SELECT DISTINCT ON (conversation_id) conversation_id, total, preview, sender_id FROM numbered ORDER BY conversation_id, n DESC) l
     WHERE c.id = l.conversation_id
    RETURNING c.id, c.last_seq, c.last_message_at),
  msg AS (
    INSERT INTO messages (${inserted}, seq, created_at)
    SELECT ${MESSAGE_INPUT.map(([name]) => `n.${name}`).join(', ')}, conv.last_seq - n.total + n.n, conv.last_message_at
      FROM numbered n JOIN conv ON conv.id = n.conversation_id
    RETURNING id, conversation_id, sender_id, seq, created_at),
  runs AS (
    SELECT conversation_id, sender_id, min(seq) AS first, max(seq) AS last
      FROM (SELECT conversation_id, sender_id, seq, seq - row_number() OVER (PARTITION BY conversation_id, sender_id ORDER BY seq) AS run FROM msg) r
     GROUP BY conversation_id, sender_id, run),
  sender AS (
    UPDATE members mb
       SET delivered_seq = COALESCE((SELECT r.last FROM runs r WHERE r.conversation_id = mb.conversation_id AND r.sender_id = mb.user_id AND r.first = mb.delivered_seq + 1), mb.delivered_seq),
           read_seq = COALESCE((SELECT r.last FROM runs r WHERE r.conversation_id = mb.conversation_id AND r.sender_id = mb.user_id AND r.first = mb.read_seq + 1), mb.read_seq)
     WHERE EXISTS (SELECT 1 FROM runs r WHERE r.conversation_id = mb.conversation_id AND r.sender_id = mb.user_id AND r.first IN (mb.delivered_seq + 1, mb.read_seq + 1))),
  box AS (
    INSERT INTO outbox (topic, key, payload, headers)
    SELECT '${MESSAGES_TOPIC}', m.conversation_id::text, jsonb_build_object('message_id', m.id, 'conversation_id', m.conversation_id, 'seq', m.seq), n.headers
      FROM msg m JOIN numbered n ON n.id = m.id ORDER BY n.ord),
  ${messageCreatedBatchHookCte()}
  SELECT c.ord, c.is_member, m.seq, m.created_at
    FROM checked c LEFT JOIN numbered n ON n.ord = c.ord LEFT JOIN msg m ON m.id = n.id
   ORDER BY c.ord`;

/** Accepts `rows` in one statement (a transaction of its own unless `sql` is one); one outcome per row, in order. */
export async function acceptRows(sql: Sql, rows: readonly AcceptRow[]): Promise<AcceptOutcome[]> {
  const input = rows.map((row, ord) => ({ ord, ...row }));
  const result = await sql.query(ACCEPT_BATCH_SQL, [JSON.stringify(input)]);
  return result.map((r): AcceptOutcome => {
    if (r.seq !== null && r.seq !== undefined) return { outcome: 'accepted', seq: Number(r.seq), created_at: r.created_at };
    return r.is_member ? { outcome: 'taken' } : { outcome: 'not-member' };
  });
}

export interface AcceptBatchOptions {
  /** How long the first send of a batch waits for others (0: the rest of this event-loop turn). */
  maxWaitMs: number;
  /** Sends per statement at most; a full batch goes at once. */
  max: number;
}

interface Waiting {
  row: AcceptRow;
  resolve: (outcome: AcceptOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Gathers concurrent sends of this process and commits them together. One batch is in flight at a
 * time: two batches updating the same conversations in different orders could deadlock, and while
 * one commits the next one fills, so the batch grows with the load instead of the round trips.
 * Each send is answered only after the commit that holds it.
 */
export class AcceptBatcher {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private isFlushing = false;

  constructor(
    private readonly db: Database,
    private readonly options: AcceptBatchOptions,
    /** Called after each commit that accepted something (wakes this process's outbox relay). */
    private readonly onCommit: () => void = () => undefined,
  ) {}

  accept(row: AcceptRow): Promise<AcceptOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      if (this.isFlushing) return; // the flush in flight starts the next batch when it ends
      if (this.waiting.length >= this.options.max) this.flushNow();
      else this.timer ??= this.options.maxWaitMs > 0 ? setTimeout(() => this.flushNow(), this.options.maxWaitMs) : setImmediate(() => this.flushNow());
    });
  }

  private flushNow(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.isFlushing || this.waiting.length === 0) return;
    this.isFlushing = true;
    const batch = this.waiting.splice(0, this.options.max);
    void this.commit(batch).finally(() => {
      this.isFlushing = false;
      // Whatever arrived meanwhile has waited for a round trip already: it goes now.
      if (this.waiting.length > 0) this.flushNow();
    });
  }

  private async commit(batch: Waiting[]): Promise<void> {
    let outcomes: AcceptOutcome[];
    try {
      outcomes = await acceptRows(
        this.db,
        batch.map((w) => w.row),
      );
    } catch (e) {
      if (batch.length === 1) return batch[0].reject(e);
      // A duplicate committed elsewhere meanwhile, a deadlock with another instance, a row that
      // breaks a constraint: each send alone, so that each gets its own answer.
      await Promise.all(batch.map((w) => this.commit([w])));
      return;
    }
    if (outcomes.some((o) => o.outcome === 'accepted')) this.onCommit();
    batch.forEach((w, i) => w.resolve(outcomes[i]));
  }
}
