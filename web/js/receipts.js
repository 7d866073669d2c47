/**
 * Receipts this device gives: an `ack` over the WebSocket for messages that reached it (the
 * sender's ✓✓), and the read cursor for what the user has on screen (the sender's blue ✓✓).
 * Acks wait for the link to be up; reads are debounced per conversation.
 */
export class Receipts {
  #acks = new Map();
  #ackTimer;
  #readTimers = new Map();

  /** `isSeen(conversationId)` says whether the user is looking at that conversation now. */
  constructor(api, store, live, isSeen) {
    this.api = api;
    this.store = store;
    this.live = live;
    this.isSeen = isSeen;
  }

  /** Everything up to `seq` in the conversation reached this device. */
  ack(conversationId, seq) {
    this.#acks.set(conversationId, Math.max(seq, this.#acks.get(conversationId) ?? 0));
    this.#ackTimer ??= setTimeout(() => this.flushAcks(), 30);
  }

  /** Sends the acks collected so far (again after a reconnect, for those the link lost). */
  flushAcks() {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    for (const [conversationId, seq] of this.#acks) {
      if (this.live.send({ action: 'ack', conversation_id: conversationId, seq })) this.#acks.delete(conversationId);
    }
  }

  /** Marks what is on screen as read, shortly (a burst of messages costs one request). */
  markReadSoon(conversationId) {
    clearTimeout(this.#readTimers.get(conversationId));
    this.#readTimers.set(
      conversationId,
      setTimeout(() => this.#markRead(conversationId).catch(() => undefined), 150),
    );
  }

  async #markRead(id) {
    const c = this.store.conversations.get(id);
    // Only up to what this page shows: a message still on its way has not been read.
    const upTo = this.store.timeline(id).newestSeq();
    if (!c || !this.isSeen(id) || (upTo <= c.readSeq && c.unread === 0)) return;
    const r = await this.api.post(`/v1/conversations/${id}/read`, { up_to_seq: upTo });
    c.readSeq = Math.max(c.readSeq, r.read_seq);
    if (c.readSeq >= c.lastSeq) c.unread = 0;
    this.store.changed();
  }
}
