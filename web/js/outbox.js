/**
 * Messages on their way to the server. Each keeps the message_id it was given when written, so a
 * retry after a network error (or after a reload: the queue is in localStorage) is the same
 * request and the server's idempotency turns it into one message. Per conversation the queue is
 * sent in order, one at a time, so the server's seq order is the order the user wrote in. While
 * the WebSocket link is up messages go over it (no HTTP request each); otherwise, or when the link
 * drops before answering, over POST /v1/messages with the same id.
 */
import { backoff, NetworkError } from './http.js';

export class Outbox {
  /** conversation id → items waiting, oldest first */
  #queues = new Map();
  #timers = new Map();

  /** `onRefused(conversationId, error)` hears of every send the server refused for good; `live` is the WebSocket link, if any. */
  constructor(api, store, userId, onRefused = () => undefined, live = undefined) {
    this.api = api;
    this.live = live;
    this.store = store;
    this.key = `chat4all.outbox.${userId}`;
    this.onRefused = onRefused;
  }

  /** Shows and sends a message; `display` is what the bubble shows meanwhile (defaults to the payload). */
  send(conversationId, payload, { messageId, display, replyTo } = {}) {
    const item = { message_id: messageId, conversation_id: conversationId, payload, display: display ?? payload, attempt: 0, reply_to: replyTo?.message_id };
    if (!this.store.find(messageId)) this.store.addLocal(conversationId, { message_id: messageId, payload: item.display, reply_to: replyTo });
    const queue = this.#queues.get(conversationId) ?? [];
    queue.push(item);
    this.#queues.set(conversationId, queue);
    this.#persist();
    this.#pump(conversationId);
  }

  /** Puts back messages a reload interrupted, and sends them again. */
  restore() {
    let saved = [];
    try {
      saved = JSON.parse(localStorage.getItem(this.key) ?? '[]');
    } catch {
      /* unreadable: nothing to restore */
    }
    for (const item of saved)
      this.send(item.conversation_id, item.payload, {
        messageId: item.message_id,
        display: item.display,
        replyTo: item.reply_to && { message_id: item.reply_to },
      });
  }

  /** Retries everything waiting now (the link came back). */
  flush() {
    for (const conversationId of this.#queues.keys()) {
      clearTimeout(this.#timers.get(conversationId));
      this.#pump(conversationId);
    }
  }

  /** Tries a failed message again, same id. */
  retry(messageId) {
    const m = this.store.find(messageId);
    if (!m?.local?.retry) return;
    m.status = 'pending'; // a deliberate retry is the one way back from failed
    this.store.update(messageId, { local: { error: undefined, code: undefined, retry: undefined } });
    this.send(m.conversation_id, m.local.retry, { messageId, display: m.payload });
  }

  async #pump(conversationId) {
    const queue = this.#queues.get(conversationId);
    const item = queue?.[0];
    if (!item || item.isInFlight) return;
    item.isInFlight = true;
    try {
      const accepted = await this.#deliver({
        message_id: item.message_id,
        conversation_id: item.conversation_id,
        payload: item.payload,
        reply_to: item.reply_to,
      });
      this.#next(queue, conversationId);
      this.store.update(item.message_id, {
        seq: accepted.seq,
        created_at: accepted.created_at,
        status: 'accepted',
        payload: { ...item.display, ...item.payload },
        local: { error: undefined, state: undefined },
      });
    } catch (e) {
      if (e.isTransient) {
        const wait = Math.max(backoff(item.attempt++), (e.retryAfterSeconds ?? 0) * 1000);
        this.store.update(item.message_id, { local: { error: 'Waiting for the network…' } });
        this.#timers.set(
          conversationId,
          setTimeout(() => this.#pump(conversationId), wait),
        );
        return;
      }
      // The server refused it (not a member any more, too long, …): sending it again unchanged will not help.
      this.#next(queue, conversationId);
      // The problem's detail is the message to show (e.g. why WhatsApp's window refuses it); the
      // code lets the views offer the way out (a template instead of a retry).
      this.store.update(item.message_id, { status: 'failed', local: { error: e.message, code: e.code, retry: item.payload } });
      this.onRefused(conversationId, e);
    } finally {
      item.isInFlight = false;
    }
    this.#pump(conversationId);
  }

  /** Over the link while it is up; over HTTP otherwise, or when the link could not answer (the id makes it one message). */
  async #deliver(body) {
    if (this.live?.state === 'online') {
      try {
        return await this.live.sendMessage(body);
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
      }
    }
    return this.api.post('/v1/messages', body);
  }

  #next(queue, conversationId) {
    queue.shift();
    if (queue.length === 0) this.#queues.delete(conversationId);
    this.#persist();
  }

  #persist() {
    const items = [...this.#queues.values()]
      .flat()
      .map(({ message_id, conversation_id, payload, display }) => ({ message_id, conversation_id, payload, display }));
    if (items.length) localStorage.setItem(this.key, JSON.stringify(items));
    else localStorage.removeItem(this.key);
  }
}
