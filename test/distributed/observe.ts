/** What the distributed suites observe and assert: sockets that behave like clients, histories, final states. */
import { expect } from 'vitest';
import { TestSocket, eventually, uuid } from '../support/harness.ts';
import type { Deployment } from '../support/deployment.ts';

/**
 * A client socket on API `api`: answers pings, and with `isAcking` acknowledges every
 * message.created it receives (what a real client does on receipt).
 */
export async function clientSocket(d: Deployment, api: number, token: string, isAcking = false): Promise<TestSocket> {
  const socket = await TestSocket.connect(d.wsUrl(api, token));
  socket.ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.type === 'ping') socket.send({ action: 'pong' });
    if (isAcking && frame.type === 'message.created') socket.send({ action: 'ack', conversation_id: frame.conversation_id, seq: frame.seq });
  });
  await socket.next((f) => f.type === 'connected');
  return socket;
}

/** Seqs of matching frames, per conversation, in arrival order. */
export function seqsByConversation(socket: TestSocket, type: string, status?: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const f of socket.frames) {
    if (f.type !== type || (status !== undefined && f.status !== status)) continue;
    const list = out.get(f.conversation_id) ?? [];
    list.push(f.seq);
    out.set(f.conversation_id, list);
  }
  return out;
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** True when `seqs` only ever goes up (gaps allowed: an event lost with a crashed process). */
export const isIncreasing = (seqs: number[]) => seqs.every((s, i) => i === 0 || s > seqs[i - 1]);

/** The whole history of a conversation as a member fetches it (oldest first, page by page). */
export async function history(d: Deployment, api: number, token: string, conversationId: number): Promise<{ message_id: string; seq: number }[]> {
  const all: { message_id: string; seq: number }[] = [];
  for (;;) {
    const after = all.length > 0 ? all[all.length - 1].seq : 0;
    const page = await d.request(api, 'GET', `/v1/conversations/${conversationId}/messages?after_seq=${after}&limit=100`, { token });
    expect(page.status).toBe(200);
    all.push(...page.body.messages);
    if (!page.body.has_more) return all;
  }
}

/** Asserts a member's history holds every message exactly once, in seq order 1..n. */
export async function expectCompleteHistory(d: Deployment, api: number, token: string, conversationId: number, n: number): Promise<void> {
  const messages = await history(d, api, token, conversationId);
  expect(
    messages.map((m) => m.seq),
    `history of conversation ${conversationId}`,
  ).toEqual(range(1, n));
  expect(new Set(messages.map((m) => m.message_id)).size).toBe(n);
}

/**
 * Waits until every message of these conversations is final (delivered, read or failed), then
 * asserts each reached exactly one final state: one final history row, and no message left behind.
 */
export async function expectAllFinal(d: Deployment, conversationIds: number[], expectedCount: number, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const [row] = await d.sql(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = ANY($1) AND status IN ('delivered', 'read', 'failed')`, [
        conversationIds,
      ]);
      return row.n === expectedCount;
    },
    timeoutMs,
    200,
  );
  const [{ n }] = await d.sql(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = ANY($1)`, [conversationIds]);
  expect(n).toBe(expectedCount);
  const twice = await d.sql(
    `SELECT h.message_id, count(*)::int AS finals FROM message_status_history h JOIN messages m ON m.id = h.message_id
      WHERE m.conversation_id = ANY($1) AND h.channel IS NULL AND h.status IN ('delivered', 'read', 'failed')
      GROUP BY h.message_id HAVING count(*) <> 1`,
    [conversationIds],
  );
  expect(twice, 'messages with more than one final state').toEqual([]);
}

/** Sends `count` text messages into a conversation one after another (seq order = send order); returns the message ids. */
export async function sendSeries(
  d: Deployment,
  apiOf: (i: number) => number,
  token: string,
  conversationId: number,
  count: number,
  options: { channels?: string[]; retry?: boolean } = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = uuid();
    const body = {
      message_id: id,
      conversation_id: conversationId,
      payload: { type: 'text', content: `m${i}` },
      channels: options.channels,
      to: options.channels?.includes('whatsapp') ? '+15550100' : undefined,
    };
    // A retry reuses the message id: idempotency makes it safe even when the first attempt committed.
    for (let attempt = 1; ; attempt++) {
      const res = await d.request(apiOf(i), 'POST', '/v1/messages', { token, body }).catch((e: unknown) => ({ status: 0, body: String(e), headers: {} }));
      if (res.status === 202) break;
      if (!options.retry || attempt >= 20) throw new Error(`send ${i} failed: ${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    ids.push(id);
  }
  return ids;
}

/** Records a process consumed, from its /metrics (give its metricsUrl): those of one topic and group, or all of them. */
export async function eventsConsumed(url: string, labels?: { topic: string; group: string }): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = labels ? `\\{topic="${labels.topic}",group="${labels.group}"\\}` : '\\{[^}]*\\}';
  return [...text.matchAll(new RegExp(`^chat4all_events_consumed_total${series} (\\d+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
}
