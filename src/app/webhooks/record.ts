/**
 * Records outbound webhook events in the caller's transaction: one outbox row on the `webhooks`
 * topic per event that has recipients, so an event exists exactly when the change committed and
 * reaches the webhook worker through the event log in the conversation's order (the relay
 * publishes outbox rows in id order, keyed by conversation). Recipients are the enabled
 * endpoints subscribed to the type whose owners are members at that moment; with no endpoints
 * the statement writes nothing.
 */
import type { Sql } from '../../ports/database.ts';
import { WEBHOOKS_TOPIC } from '../../domain/log-topics.ts';
import type { WebhookEventType } from '../../domain/webhook.ts';

export interface WebhookEventInput {
  type: WebhookEventType;
  /** The conversation the event belongs to: its members' endpoints receive it, in order. */
  conversationId?: number;
  /** A user who receives it besides the members (the member who left; the uploader of a file). */
  userId?: number;
  data: Record<string, unknown>;
}

/** The ordering (and partition) key: the conversation, else the user. */
export const orderKeyOf = (e: Pick<WebhookEventInput, 'conversationId' | 'userId'>) =>
  e.conversationId !== undefined ? String(e.conversationId) : `u:${e.userId ?? 0}`;

/** Records `events` (in this order) for the endpoints that should receive them. */
export async function recordWebhookEvents(sql: Sql, events: readonly WebhookEventInput[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e) => ({
    type: e.type,
    order_key: orderKeyOf(e),
    conversation_id: e.conversationId ?? null,
    user_id: e.userId ?? null,
    data: e.data,
  }));
  await sql.query(
    `WITH ev AS (
       SELECT x->>'type' AS type, x->>'order_key' AS order_key, (x->>'conversation_id')::bigint AS conversation_id,
              (x->>'user_id')::bigint AS user_id, x->'data' AS data, n
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(x, n)),
     r AS (
       SELECT ev.n, array_agg(e.id ORDER BY e.id) AS ids
         FROM ev JOIN webhook_endpoints e ON e.disabled_at IS NULL AND ev.type = ANY(e.events)
          AND (e.user_id = ev.user_id OR EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = ev.conversation_id AND m.user_id = e.user_id))
        GROUP BY ev.n)
     INSERT INTO outbox (topic, key, payload)
     SELECT '${WEBHOOKS_TOPIC}', ev.order_key, jsonb_build_object('id', gen_random_uuid(), 'type', ev.type, 'order_key', ev.order_key,
              'occurred_at', now(), 'data', ev.data, 'endpoint_ids', to_jsonb(r.ids))
       FROM ev JOIN r ON r.n = ev.n ORDER BY ev.n`,
    [JSON.stringify(rows)],
  );
}

/**
 * The `message.created` event as a CTE of an accept statement that has a `msg` CTE (seq,
 * created_at) and the message id and conversation id as parameters `msgParam`, `convParam`.
 */
export const messageCreatedHookCte = (msgParam: string, convParam: string) => `
  hook AS (
    INSERT INTO outbox (topic, key, payload)
    SELECT '${WEBHOOKS_TOPIC}', ${convParam}::text, jsonb_build_object('id', gen_random_uuid(), 'type', 'message.created', 'order_key', ${convParam}::text,
           'occurred_at', msg.created_at, 'data_from_message', ${msgParam}::uuid, 'endpoint_ids', to_jsonb(r.ids))
      FROM msg, (SELECT array_agg(e.id ORDER BY e.id) AS ids FROM webhook_endpoints e
                  WHERE e.disabled_at IS NULL AND 'message.created' = ANY(e.events)
                    AND EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = ${convParam} AND m.user_id = e.user_id)) r
     WHERE r.ids IS NOT NULL)`;

/**
 * The `message.created` events of a batch accept statement, as a CTE over its `msg` CTE (id,
 * conversation_id, created_at) and `numbered` CTE (id, ord): one per message, in arrival order.
 */
export const messageCreatedBatchHookCte = () => `
  hook AS (
    INSERT INTO outbox (topic, key, payload)
    SELECT '${WEBHOOKS_TOPIC}', m.conversation_id::text, jsonb_build_object('id', gen_random_uuid(), 'type', 'message.created',
           'order_key', m.conversation_id::text, 'occurred_at', m.created_at, 'data_from_message', m.id, 'endpoint_ids', to_jsonb(r.ids))
      FROM msg m JOIN numbered n ON n.id = m.id
     CROSS JOIN LATERAL (SELECT array_agg(e.id ORDER BY e.id) AS ids FROM webhook_endpoints e
                          WHERE e.disabled_at IS NULL AND 'message.created' = ANY(e.events)
                            AND EXISTS (SELECT 1 FROM members mm WHERE mm.conversation_id = m.conversation_id AND mm.user_id = e.user_id)) r
     WHERE r.ids IS NOT NULL
     ORDER BY n.ord)`;
