/**
 * The messenger's behaviour, separate from the views: loads conversations and history, keeps them
 * current from WebSocket frames, catches up after every reconnect (`sync`, then a history fetch for
 * any hole), acknowledges what reached this device and marks what the user sees as read.
 */
import { Api } from './api.js';
import { uuid } from './http.js';
import { Live } from './live.js';
import { Outbox } from './outbox.js';
import { Receipts } from './receipts.js';
import { Store } from './store.js';
import { Uploads } from './uploads.js';

const PAGE = 50;
// Conversations with unread messages whose newest page is fetched at start: opening them is then
// instant, and the server counts the fetch as delivery (the sender sees ✓✓).
const PREFETCH = 8;
const DETAILS_PARALLEL = 6;

export class Client extends EventTarget {
  /** The conversation on screen, or null. */
  openId = null;
  #gapTimer;
  #changesTimer;
  #refreshTimer;
  #connections = 0;
  #fileUrls = new Map();
  #detailTimers = new Map();
  /** GET /v1/channels (mode, capabilities, health), or null until loaded or when unavailable. */
  channels = null;

  constructor(session) {
    super();
    this.session = session;
    this.me = session.user;
    this.api = new Api(session);
    this.store = new Store(this.me);
    this.live = new Live(session);
    this.outbox = new Outbox(this.api, this.store, this.me.user_id, (id, e) => this.#onRefused(id, e), this.live);
    this.uploads = new Uploads(this.api, this.store, this.outbox, this.me.user_id);
    this.receipts = new Receipts(this.api, this.store, this.live, (id) => this.#isSeen(id));
    this.live.addEventListener('frame', (e) => this.#onFrame(e.detail));
    document.addEventListener('visibilitychange', () => this.openId && this.receipts.markReadSoon(this.openId));
  }

  async start() {
    await this.refreshConversations();
    this.outbox.restore();
    this.uploads.restore();
    this.live.start();
    this.#prefetchUnread();
    this.loadChannels().catch(() => undefined);
  }

  /** Fetches the external channels' modes and health (a "channels" event tells the views). */
  async loadChannels() {
    this.channels = await this.api.get('/v1/channels');
    this.dispatchEvent(new Event('channels'));
    return this.channels;
  }

  // ----- conversations -----

  async refreshConversations() {
    for (let offset = 0; ; offset += 100) {
      const page = await this.api.get(`/v1/conversations?limit=100&offset=${offset}`);
      for (const item of page.items) this.store.upsertListItem(item);
      if (!page.has_more || offset >= 400) break;
    }
    this.store.changed();
    await this.#loadMissingDetails();
  }

  /** Members and read cursors (private chats need them for their title). */
  async details(id) {
    return this.store.setDetails(await this.api.get(`/v1/conversations/${id}`));
  }

  async #loadMissingDetails() {
    const queue = [...this.store.conversations.values()].filter((c) => !c.members).map((c) => c.id);
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await this.details(id).catch(() => undefined);
    };
    await Promise.all(Array.from({ length: DETAILS_PARALLEL }, worker));
  }

  searchUsers(query) {
    return this.api.get(`/v1/users?query=${encodeURIComponent(query)}&limit=20`).then((r) => r.items.filter((u) => u.user_id !== this.me.user_id));
  }

  /** Opens (or creates) the private chat with a user; returns its id. */
  async startPrivate(userId) {
    return this.store.setDetails(await this.api.post('/v1/conversations', { type: 'private', member_ids: [userId] })).id;
  }

  async createGroup(name, userIds) {
    return this.store.setDetails(await this.api.post('/v1/conversations', { type: 'group', name, member_ids: userIds })).id;
  }

  // ----- group management (owners and admins; anyone may leave) -----

  async updateGroup(id, change) {
    return this.store.setDetails(await this.api.patch(`/v1/conversations/${id}`, change));
  }

  async addMembers(id, userIds) {
    return this.store.setDetails(await this.api.post(`/v1/conversations/${id}/members`, { user_ids: userIds }));
  }

  /** Owners only: `role` "admin" or "member" (PATCH answers the details with the new roles). */
  async changeRole(id, userId, role) {
    return this.store.setDetails(await this.api.patch(`/v1/conversations/${id}/members/${userId}`, { role }));
  }

  async removeMember(id, userId) {
    await this.api.del(`/v1/conversations/${id}/members/${userId}`);
    if (userId === this.me.user_id) this.#forget(id);
    else await this.details(id);
  }

  // ----- the open conversation -----

  async open(id) {
    this.openId = id;
    const c = this.store.conversations.get(id);
    const details = c?.members ? undefined : this.details(id);
    if (!this.store.timeline(id).isLoaded) await this.#loadLatest(id);
    await details;
    this.receipts.markReadSoon(id);
  }

  close() {
    this.openId = null;
  }

  /** Loads the page before the oldest message shown; resolves false when there is nothing older. */
  async loadOlder(id) {
    const t = this.store.timeline(id);
    if (!t.isLoaded || !t.hasOlder || t.isLoadingOlder) return false;
    t.isLoadingOlder = true;
    try {
      const page = await this.api.get(`/v1/conversations/${id}/messages?before_seq=${t.bottom}&limit=${PAGE}`);
      this.store.addMessages(id, page.messages.reverse());
      if (!page.has_more) t.hasOlder = false;
      return true;
    } finally {
      t.isLoadingOlder = false;
    }
  }

  async #loadLatest(id) {
    const page = await this.api.get(`/v1/conversations/${id}/messages?limit=${PAGE}`);
    const messages = page.messages.reverse();
    const t = this.store.timeline(id);
    t.resetWith(messages);
    // Every message held now is in its current state: changes after this version are the ones to catch up on.
    t.version = Math.max(t.version, page.last_version ?? 0);
    this.store.addMessages(id, messages);
  }

  /** `replyTo`: the quoted message ({message_id, sender_username, excerpt}) or undefined. */
  sendText(id, text, replyTo) {
    const content = text.trim();
    if (content) this.outbox.send(id, { type: 'text', content }, { messageId: uuid(), replyTo });
  }

  // ----- changes to sent messages: the answer is the message as the server now has it -----

  react(m, emoji, on) {
    const path = `/v1/messages/${m.message_id}/reactions/${encodeURIComponent(emoji)}`;
    return (on ? this.api.put(path) : this.api.del(path)).then((fresh) => this.store.addMessages(m.conversation_id, [fresh]));
  }

  edit(m, content) {
    return this.api
      .patch(`/v1/messages/${m.message_id}`, { payload: { type: 'text', content } })
      .then((fresh) => this.store.addMessages(m.conversation_id, [fresh]));
  }

  deleteMessage(m) {
    return this.api.del(`/v1/messages/${m.message_id}`).then((fresh) => this.store.addMessages(m.conversation_id, [fresh]));
  }

  /** GET /v1/search/messages: hits with HTML-escaped snippets (matches in <mark>). */
  searchMessages(q) {
    return this.api.get(`/v1/search/messages?q=${encodeURIComponent(q)}&limit=20`);
  }

  /** A WhatsApp template message (the one kind WhatsApp takes outside its 24 h reply window). */
  sendTemplate(id, name, language) {
    this.outbox.send(id, { type: 'template', name, language }, { messageId: uuid() });
  }

  /** A blob: URL for a file the user may see (fetched once with the bearer token). */
  fileUrl(fileId) {
    let url = this.#fileUrls.get(fileId);
    if (!url) {
      url = this.api.blob(`/v1/files/${fileId}/download`).then((blob) => URL.createObjectURL(blob));
      url.catch(() => this.#fileUrls.delete(fileId));
      this.#fileUrls.set(fileId, url);
    }
    return url;
  }

  // ----- live frames -----

  #onFrame(f) {
    switch (f.type) {
      case 'connected':
        return this.#onConnected();
      case 'message.created':
        return this.#onMessage(f);
      case 'message.status':
        // Per-recipient or per-channel frames are details; the ticks show the aggregate.
        if (f.user_id === undefined && f.channel === undefined) this.store.update(f.message_id, { status: f.status });
        return undefined;
      case 'conversation.created':
        return this.#refreshSoon();
      case 'conversation.read':
        return this.#onRead(f);
      case 'member.joined':
      case 'member.left':
      case 'member.role_changed':
        return this.#onMembership(f);
      case 'conversation.updated':
        return this.#refreshDetailsSoon(f.conversation_id);
      case 'message.updated':
      case 'message.deleted':
      case 'message.reaction':
        return this.#onChange(f);
      case 'message.changed':
        return this.#onChanged(f);
      case 'typing':
        return this.#onTyping(f);
      case 'presence':
        this.presence.set(f.user_id, f);
        return this.dispatchEvent(new Event('presence'));
      case 'synced':
        for (const [id, v] of Object.entries(f.versions ?? {})) this.#noteVersion(Number(id), v);
        return this.#fillHoles();
      default:
        return undefined;
    }
  }

  // An edit, deletion or reaction (docs/websocket.md): only messages this client holds change.
  #onChange(f) {
    const t = this.store.timelines.get(f.conversation_id);
    // A version more than one ahead: a change was lost (with a dropped link); `sync` brings it.
    if (t?.isLoaded && f.version > t.version + 1) this.#catchUpChangesSoon();
    else this.#noteVersion(f.conversation_id, f.version);
    const m = this.store.find(f.message_id);
    if (!m || (m.version ?? 0) >= f.version) return;
    const change = { version: f.version };
    if (f.type === 'message.updated') Object.assign(change, { payload: f.payload, edited_at: f.edited_at });
    if (f.type === 'message.deleted') Object.assign(change, { payload: { type: 'deleted' }, deleted_at: f.deleted_at, reactions: [] });
    if (f.type === 'message.reaction') {
      // The frame's counts are everyone's; "me" is known from my own previous state and this change.
      const mine = new Set((m.reactions ?? []).filter((r) => r.me).map((r) => r.emoji));
      if (f.user_id === this.me.user_id) mine[f.action === 'added' ? 'add' : 'delete'](f.emoji);
      change.reactions = f.reactions.map((r) => ({ ...r, me: mine.has(r.emoji) }));
    }
    this.store.update(m.message_id, change);
  }

  // A message as it is now, from `sync` with versions; only messages this client holds change
  // (others arrive current when their page is fetched).
  #onChanged({ type: _type, timestamp: _timestamp, ...m }) {
    const known = this.store.find(m.message_id);
    if (known && (known.version ?? 0) < m.version) this.store.addMessages(m.conversation_id, [m]);
    this.#noteVersion(m.conversation_id, m.version);
  }

  #noteVersion(id, version) {
    const t = this.store.timelines.get(id);
    if (t?.isLoaded) t.version = Math.max(t.version, version);
  }

  #catchUpChangesSoon() {
    clearTimeout(this.#changesTimer);
    this.#changesTimer = setTimeout(() => this.live.send({ action: 'sync', versions: this.#versionCursors() }), 300);
  }

  /** The version cursor of each timeline the client holds (unloaded ones arrive current when fetched). */
  #versionCursors() {
    const versions = {};
    for (const [id, t] of this.store.timelines) if (t.isLoaded) versions[id] = t.version;
    return versions;
  }

  /** Who is typing where: conversation id → Map(user id → {username, until ms}). */
  typing = new Map();
  /** Last presence per user id ({status, last_seen_at}), from GET /v1/users/{id}/presence and frames. */
  presence = new Map();
  #typingSentAt = 0;

  /** Tells the other members that I am typing (at most every 2.5 s; the server throttles too). */
  noteTyping(id) {
    if (Date.now() - this.#typingSentAt < 2500) return;
    this.#typingSentAt = Date.now();
    this.live.send({ action: 'typing', conversation_id: id });
  }

  #onTyping(f) {
    if (f.user_id === this.me.user_id) return;
    const who = this.typing.get(f.conversation_id) ?? new Map();
    who.set(f.user_id, { username: f.username, until: Date.parse(f.until) });
    this.typing.set(f.conversation_id, who);
    this.dispatchEvent(new Event('typing'));
    setTimeout(() => this.dispatchEvent(new Event('typing')), Date.parse(f.until) - Date.now() + 50);
  }

  /** Usernames typing in a conversation now. */
  typingIn(id) {
    const now = Date.now();
    return [...(this.typing.get(id)?.values() ?? [])].filter((t) => t.until > now).map((t) => t.username);
  }

  /** Fetches a user's presence once (later changes come as frames); servers without it answer 404. */
  async loadPresence(userId) {
    if (this.presence.has(userId)) return;
    this.presence.set(userId, null);
    try {
      this.presence.set(userId, await this.api.get(`/v1/users/${userId}/presence`));
      this.dispatchEvent(new Event('presence'));
    } catch {
      /* no presence on this server */
    }
  }

  #onConnected() {
    const isReconnect = this.#connections++ > 0;
    const since = {};
    for (const c of this.store.conversations.values()) {
      const t = this.store.timelines.get(c.id);
      since[c.id] = t?.isLoaded ? t.top : c.lastSeq;
    }
    // New messages after each seq, then messages edited, deleted or reacted to after each version.
    this.live.send({ action: 'sync', since, versions: this.#versionCursors() });
    this.receipts.flushAcks();
    this.outbox.flush();
    if (!isReconnect) return;
    // Statuses and conversations that changed while the link was down.
    this.refreshConversations().catch(() => undefined);
    if (this.openId) this.#refreshLatest(this.openId).catch(() => undefined);
  }

  async #refreshLatest(id) {
    const page = await this.api.get(`/v1/conversations/${id}/messages?limit=${PAGE}`);
    this.store.addMessages(id, page.messages.reverse());
  }

  #onMessage(f) {
    const { type: _type, timestamp: _timestamp, ...message } = f;
    const id = message.conversation_id;
    const c = this.store.conversations.get(id);
    if (!c) this.#refreshSoon();
    const isNew = !c || message.seq > c.lastSeq;
    const fresh = this.store.addMessages(id, [message]);
    // A contact wrote (sender_id is null): their last-inbound time (WhatsApp's window) and name moved.
    if (message.sender_contact && c) this.#refreshDetailsSoon(id);
    if (message.sender_id !== this.me.user_id) {
      if (this.typing.get(id)?.delete(message.sender_id)) this.dispatchEvent(new Event('typing'));
      this.receipts.ack(id, message.seq);
      if (isNew && c) {
        if (this.#isSeen(id)) this.receipts.markReadSoon(id);
        else c.unread++;
        this.store.changed();
      }
      if (fresh.length) this.dispatchEvent(new CustomEvent('incoming', { detail: fresh[0] }));
    }
    const t = this.store.timeline(id);
    if (t.isLoaded && message.seq > t.top + 1) this.#scheduleHoleFill();
  }

  // New conversations come with their unread counts and titles from the list; bursts share one fetch.
  #refreshSoon() {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => this.refreshConversations().catch(() => undefined), 100);
  }

  #refreshDetailsSoon(id) {
    clearTimeout(this.#detailTimers.get(id));
    this.#detailTimers.set(
      id,
      setTimeout(() => {
        this.#detailTimers.delete(id);
        this.details(id).catch(() => undefined);
      }, 200),
    );
  }

  // The server refused a send for good; a closed WhatsApp window means our copy of the contact's
  // last-inbound time is stale: fetch it so the header shows the window as the server sees it.
  #onRefused(id, e) {
    if (e.code === 'channel-window-closed') this.#refreshDetailsSoon(id);
    this.dispatchEvent(new CustomEvent('refused', { detail: { conversationId: id, error: e } }));
  }

  #onRead(f) {
    const c = this.store.conversations.get(f.conversation_id);
    if (!c) return;
    if (f.user_id === this.me.user_id) {
      // Read on another device.
      c.readSeq = Math.max(c.readSeq, f.read_seq);
      if (c.readSeq >= c.lastSeq) c.unread = 0;
    }
    const member = c.members?.find((m) => m.user_id === f.user_id);
    if (member) member.read_seq = Math.max(member.read_seq, f.read_seq);
    this.store.changed();
  }

  #onMembership(f) {
    if (f.type === 'member.left' && f.user_id === this.me.user_id) return this.#forget(f.conversation_id);
    return this.#refreshDetailsSoon(f.conversation_id);
  }

  #forget(id) {
    if (!this.store.conversations.delete(id)) return;
    this.store.changed();
    if (this.openId === id) this.dispatchEvent(new Event('closed'));
  }

  // Live frames can arrive out of order or be lost with a dropped link: fetch whatever is missing.
  #scheduleHoleFill() {
    clearTimeout(this.#gapTimer);
    this.#gapTimer = setTimeout(() => this.#fillHoles(), 300);
  }

  async #fillHoles() {
    for (const [id, t] of this.store.timelines) {
      while (t.isLoaded && t.newestSeq() > t.top) {
        const before = t.top;
        const page = await this.api.get(`/v1/conversations/${id}/messages?after_seq=${t.top}&limit=100`).catch(() => undefined);
        if (!page) return;
        this.store.addMessages(id, page.messages);
        if (t.top === before) break;
      }
    }
  }

  #isSeen(id) {
    return this.openId === id && document.visibilityState === 'visible';
  }

  async #prefetchUnread() {
    const unread = this.store
      .sortedConversations()
      .filter((c) => c.unread > 0 && c.id !== this.openId)
      .slice(0, PREFETCH);
    await Promise.all(unread.map((c) => (this.store.timeline(c.id).isLoaded ? undefined : this.#loadLatest(c.id).catch(() => undefined))));
  }
}
