/**
 * Messages on their way to the server. Each keeps the message_id it was given when written, so a
 * retry after a network error (or after a reload: the queue is in localStorage) is the same
 * request and the server's idempotency turns it into one message.
 */
import { backoff } from './http.js';

export class Outbox {
  #items = new Map();
  #timers = new Map();

  constructor(api, store, userId) {
    this.api = api;
    this.store = store;
    this.key = `chat4all.outbox.${userId}`;
  }

  /** Shows and sends a message; `display` is what the bubble shows meanwhile (defaults to the payload). */
  send(conversationId, payload, { messageId, display } = {}) {
    const item = { message_id: messageId, conversation_id: conversationId, payload, display: display ?? payload, attempt: 0 };
    if (!this.store.find(messageId)) this.store.addLocal(conversationId, { message_id: messageId, payload: item.display });
    this.#items.set(messageId, item);
    this.#persist();
    this.#attempt(item);
  }

  /** Puts back messages a reload interrupted, and sends them again. */
  restore() {
    let saved = [];
    try {
      saved = JSON.parse(localStorage.getItem(this.key) ?? '[]');
    } catch {
      /* unreadable: nothing to restore */
    }
    for (const item of saved) this.send(item.conversation_id, item.payload, { messageId: item.message_id, display: item.display });
  }

  /** Retries everything waiting now (the link came back). */
  flush() {
    for (const item of this.#items.values()) {
      clearTimeout(this.#timers.get(item.message_id));
      this.#attempt(item);
    }
  }

  /** Tries a failed message again, same id. */
  retry(messageId) {
    const m = this.store.find(messageId);
    if (!m?.local?.retry) return;
    m.status = 'pending'; // a deliberate retry is the one way back from failed
    this.store.update(messageId, { local: { error: undefined, retry: undefined } });
    this.send(m.conversation_id, m.local.retry, { messageId, display: m.payload });
  }

  async #attempt(item) {
    if (item.isInFlight) return;
    item.isInFlight = true;
    try {
      const accepted = await this.api.post('/v1/messages', { message_id: item.message_id, conversation_id: item.conversation_id, payload: item.payload });
      this.#done(item);
      this.store.update(item.message_id, { seq: accepted.seq, created_at: accepted.created_at, status: 'accepted', payload: { ...item.display, ...item.payload }, local: { error: undefined, state: undefined } });
    } catch (e) {
      if (e.isTransient) {
        const wait = Math.max(backoff(item.attempt++), (e.retryAfterSeconds ?? 0) * 1000);
        this.store.update(item.message_id, { local: { error: 'Waiting for the network…' } });
        this.#timers.set(item.message_id, setTimeout(() => this.#attempt(item), wait));
      } else {
        // The server refused it (not a member any more, too long, …): sending it again unchanged will not help.
        this.#done(item);
        this.store.update(item.message_id, { status: 'failed', local: { error: e.message, retry: item.payload } });
      }
    } finally {
      item.isInFlight = false;
    }
  }

  #done(item) {
    clearTimeout(this.#timers.get(item.message_id));
    this.#timers.delete(item.message_id);
    this.#items.delete(item.message_id);
    this.#persist();
  }

  #persist() {
    const items = [...this.#items.values()].map(({ message_id, conversation_id, payload, display }) => ({ message_id, conversation_id, payload, display }));
    if (items.length) localStorage.setItem(this.key, JSON.stringify(items));
    else localStorage.removeItem(this.key);
  }
}
