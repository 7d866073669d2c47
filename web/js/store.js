/**
 * What the client knows: conversations and, per conversation, a timeline of messages keyed by
 * message_id (so retries, sync and live frames never duplicate) and ordered by seq. Views listen
 * for "conversations" and "timeline" events.
 */
import { contactName } from './channels.js';

const RANK = { pending: 0, accepted: 1, sent: 2, delivered: 3, read: 4 };

/** Statuses only move forward; failed is terminal and never overrides delivered or read. */
export function laterStatus(current, next) {
  if (!next || current === next) return current;
  if (current === 'failed') return current;
  if (next === 'failed') return current === 'delivered' || current === 'read' ? current : 'failed';
  return (RANK[next] ?? -1) > (RANK[current] ?? -1) ? next : current;
}

export class Timeline {
  byId = new Map();
  /** Highest seq up to which this timeline holds every message (0: the newest page is not loaded yet). */
  top = 0;
  /** Lowest seq held in the contiguous window. */
  bottom = 0;
  isLoaded = false;
  hasOlder = false;
  /** Highest change version (edits, deletions, reactions) this timeline is current up to: the `sync` versions cursor. */
  version = 0;

  /** Messages in display order: by seq, then unsent local ones in the order they were written. */
  ordered() {
    return [...this.byId.values()].sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity) || a.localOrder - b.localOrder);
  }

  /** The newest page arrived: it replaces partial live leftovers below it (they would leave a hole). */
  resetWith(page) {
    const pageTop = Math.max(0, ...page.map((m) => m.seq));
    for (const [id, m] of this.byId) if (m.seq !== null && m.seq <= pageTop && !page.some((p) => p.message_id === id)) this.byId.delete(id);
    this.isLoaded = true;
    this.top = pageTop;
    this.bottom = page.length ? Math.min(...page.map((m) => m.seq)) : 0;
    this.hasOlder = this.bottom > 1;
  }

  /** Advances `top` over seqs that are now present. */
  advance() {
    if (!this.isLoaded) return;
    const seqs = new Set([...this.byId.values()].map((m) => m.seq));
    while (seqs.has(this.top + 1)) this.top++;
  }

  newestSeq() {
    let n = 0;
    for (const m of this.byId.values()) if (m.seq > n) n = m.seq;
    return n;
  }
}

let localCounter = 0;

export class Store extends EventTarget {
  conversations = new Map();
  timelines = new Map();

  constructor(me) {
    super();
    this.me = me;
  }

  // ----- conversations -----

  /** Adds or updates a conversation from a list item (GET /v1/conversations). */
  upsertListItem(item) {
    const c = this.#conversation(item.conversation_id);
    Object.assign(c, { type: item.conversation_type, name: item.conversation_name, description: item.description, createdAt: item.conversation_created_at });
    // A live frame may already have brought something newer than this (older) answer.
    if (item.last_seq >= c.lastSeq) {
      Object.assign(c, {
        lastAt: item.last_message_timestamp,
        preview: item.last_message_content,
        lastSender: item.last_message_sender,
        unread: item.unread_count,
        lastSeq: item.last_seq,
      });
    }
    return c;
  }

  /** Adds members, read cursors and a channel conversation's contact from details (GET /v1/conversations/{id} or a create answer). */
  setDetails(d) {
    const c = this.#conversation(d.conversation_id);
    Object.assign(c, { type: d.type, name: d.name, description: d.description, createdAt: c.createdAt ?? d.created_at, members: d.members });
    if (d.contact) c.contact = d.contact;
    c.lastSeq = Math.max(c.lastSeq, d.last_seq ?? 0);
    const mine = d.members.find((m) => m.user_id === this.me.user_id);
    if (mine?.read_seq !== undefined) c.readSeq = Math.max(c.readSeq, mine.read_seq);
    this.changed();
    return c;
  }

  #conversation(id) {
    let c = this.conversations.get(id);
    if (!c) {
      c = {
        id,
        type: 'private',
        name: null,
        lastSeq: 0,
        readSeq: 0,
        unread: 0,
        preview: null,
        lastAt: null,
        createdAt: new Date().toISOString(),
        members: undefined,
      };
      this.conversations.set(id, c);
    }
    return c;
  }

  /** Newest activity first. */
  sortedConversations() {
    const at = (c) => Date.parse(c.lastAt ?? c.createdAt) || 0;
    return [...this.conversations.values()].sort((a, b) => at(b) - at(a) || b.id - a.id);
  }

  /** The name to show: a group's name, the contact of a channel conversation, or the other person in a private chat. */
  title(c) {
    if (c.type === 'group') return c.name || `Group ${c.id}`;
    if (c.type === 'channel') return contactName(c.contact) || c.name || 'Contact';
    const other = c.members?.find((m) => m.user_id !== this.me.user_id);
    return other ? other.display_name || other.username : c.name || '…';
  }

  changed() {
    this.dispatchEvent(new Event('conversations'));
  }

  // ----- messages -----

  timeline(conversationId) {
    let t = this.timelines.get(conversationId);
    if (!t) {
      t = new Timeline();
      this.timelines.set(conversationId, t);
    }
    return t;
  }

  /**
   * Merges server messages (history page, sync or live) into their timeline and returns the ones
   * it had not seen before. A message already shown optimistically is matched by message_id.
   */
  addMessages(conversationId, messages) {
    const t = this.timeline(conversationId);
    const fresh = [];
    for (const m of messages) {
      const known = t.byId.get(m.message_id);
      if (known) {
        this.#merge(known, m);
        continue;
      }
      const message = { ...m, status: m.status ?? 'accepted', localOrder: localCounter++, v: 0 };
      t.byId.set(m.message_id, message);
      fresh.push(message);
    }
    if (t.isLoaded) {
      const below = messages.map((m) => m.seq).filter((s) => s && (t.bottom === 0 || s < t.bottom));
      if (below.length) t.bottom = Math.min(...below);
      t.hasOlder = t.bottom > 1;
    }
    t.advance();
    this.#noteActivity(conversationId, messages);
    this.dispatchEvent(new CustomEvent('timeline', { detail: { conversationId } }));
    return fresh;
  }

  /** Shows a message the user just wrote before the server has it. */
  addLocal(conversationId, message) {
    const t = this.timeline(conversationId);
    const full = {
      seq: null,
      status: 'pending',
      created_at: new Date().toISOString(),
      sender_id: this.me.user_id,
      sender_username: this.me.username,
      conversation_id: conversationId,
      localOrder: localCounter++,
      v: 0,
      local: {},
      ...message,
    };
    t.byId.set(full.message_id, full);
    this.dispatchEvent(new CustomEvent('timeline', { detail: { conversationId } }));
    return full;
  }

  /** Changes a message (status, local upload progress, …) and tells the views. */
  update(messageId, change) {
    const m = this.find(messageId);
    if (!m) return undefined;
    if (change.status) change = { ...change, status: laterStatus(m.status, change.status) };
    if (change.local) change = { ...change, local: { ...m.local, ...change.local } };
    Object.assign(m, change);
    m.v++;
    if (m.seq) this.#noteActivity(m.conversation_id, [m]);
    this.timeline(m.conversation_id).advance();
    this.dispatchEvent(new CustomEvent('timeline', { detail: { conversationId: m.conversation_id } }));
    return m;
  }

  /** Upload progress (0..1): views move the bar in place instead of redrawing the bubble. */
  progress(messageId, fraction) {
    const m = this.find(messageId);
    if (!m) return;
    m.local = { ...m.local, progress: Math.max(0, Math.min(1, fraction)) };
    this.dispatchEvent(new CustomEvent('progress', { detail: { messageId, fraction: m.local.progress } }));
  }

  remove(messageId) {
    const m = this.find(messageId);
    if (!m) return;
    this.timeline(m.conversation_id).byId.delete(messageId);
    this.dispatchEvent(new CustomEvent('timeline', { detail: { conversationId: m.conversation_id } }));
  }

  find(messageId) {
    for (const t of this.timelines.values()) {
      const m = t.byId.get(messageId);
      if (m) return m;
    }
    return undefined;
  }

  #merge(known, m) {
    const status = laterStatus(known.status, m.status);
    // Keep local extras (a preview of our own upload) over the server's bare file payload.
    const payload = { ...pick(known.payload, ['filename', 'size_bytes', 'mime_type']), ...m.payload };
    const isSame = known.seq === m.seq && status === known.status && known.created_at === m.created_at && (known.version ?? 0) === (m.version ?? 0);
    Object.assign(known, { ...m, payload, status });
    if (!isSame) known.v++;
  }

  #noteActivity(conversationId, messages) {
    const c = this.conversations.get(conversationId);
    if (!c) return;
    let newest;
    for (const m of messages) if (m.seq > c.lastSeq || (m.seq === c.lastSeq && !c.lastAt)) newest = m;
    if (!newest) return;
    c.lastSeq = newest.seq;
    c.lastAt = newest.created_at;
    c.preview = preview(newest.payload);
    // null when the contact of a channel conversation wrote it.
    c.lastSender = newest.sender_username ?? null;
    this.changed();
  }
}

export function preview(payload) {
  if (!payload) return '';
  if (payload.type === 'text') return payload.content.slice(0, 100);
  if (payload.type === 'deleted') return 'Message deleted';
  if (payload.type === 'template') return `[Template] ${payload.name}`;
  return `[File] ${payload.filename ?? 'attachment'}`;
}

const pick = (o, keys) => Object.fromEntries(keys.filter((k) => o?.[k] !== undefined).map((k) => [k, o[k]]));
