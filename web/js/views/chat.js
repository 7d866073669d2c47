/** The right pane: conversation header, message timeline (older pages on scroll) and composer. */
import { announce, byId, h, reconcile, toast } from '../dom.js';
import { dayKey, dayLabel, dayTime, hue } from '../format.js';
import { openMessageMenu } from './message-menu.js';
import { paintAvatar } from './sidebar.js';
import { renderMessage } from './message.js';
import { ChannelBar } from './channel-bar.js';
import { channelSubtitle, memberNames, senderKey, senderName } from '../channels.js';

// Start fetching older messages this far before reaching the top.
const LOAD_OLDER_PX = 600;
const NEAR_BOTTOM_PX = 120;

export class ChatView {
  id = null;
  #drafts = new Map();
  #renderQueued = false;
  #newestShown = 0;
  #isPinned = true;
  #lastScrollTop = 0;
  #resumeTarget = null;
  /** The composer's mode: {kind: 'reply' | 'edit', m} or null. */
  #mode = null;

  constructor(client) {
    this.client = client;
    this.store = client.store;
    this.timeline = byId('timeline');
    this.messages = byId('messages');
    this.input = byId('composer-input');
    this.fileInput = byId('file-input');
    this.channelBar = new ChannelBar(client);
    this.context = {
      fileUrl: (id) => client.fileUrl(id),
      retry: (id) => client.outbox.retry(id),
      resume: (id) => this.#resume(id),
      cancel: (id) => client.uploads.cancel(id),
      toast: (text) => toast(text, { isError: true }),
      useTemplate: () => this.channelBar.focusTemplate(),
      react: (m, emoji, on) => client.react(m, emoji, on).catch((e) => toast(e.message, { isError: true })),
      jumpTo: (messageId) => this.reveal(messageId),
      openMenu: (m, trigger) =>
        openMessageMenu(client, m, trigger, {
          reply: (x) => this.#setMode({ kind: 'reply', m: x }),
          edit: (x) => this.#setMode({ kind: 'edit', m: x }),
          // Group owners and admins may delete anyone's message.
          canDelete: () => ['owner', 'admin'].includes(this.store.conversations.get(this.id)?.members?.find((x) => x.user_id === client.me.user_id)?.role),
        }),
    };
    for (const type of ['typing', 'presence']) client.addEventListener(type, () => this.id && this.#header());
    byId('compose-context-cancel').addEventListener('click', () => this.#setMode(null));

    this.store.addEventListener('timeline', (e) => e.detail.conversationId === this.id && this.#queueRender());
    this.store.addEventListener('progress', (e) => this.#progress(e.detail));
    this.store.addEventListener('conversations', () => this.id && this.#header());
    client.addEventListener('incoming', (e) => this.#announce(e.detail));
    client.live.addEventListener('state', () => this.#banner());
    this.timeline.addEventListener('scroll', () => this.#onScroll(), { passive: true });
    // Images grow their bubble when they load: stay at the bottom if the reader was there.
    this.messages.addEventListener('load', () => this.#isPinned && this.#toBottom(), true);
    byId('jump-button').addEventListener('click', () => this.#toBottom(true));
    this.#wireComposer();
    this.#wireFiles();
  }

  /** Shows conversation `id` (or the placeholder for null). */
  async show(id) {
    if (id === this.id) return;
    if (this.id) this.#drafts.set(this.id, this.input.value);
    this.id = id;
    byId('chat-placeholder').hidden = Boolean(id);
    byId('chat-view').hidden = !id;
    if (!id) {
      this.channelBar.show(null);
      return this.client.close();
    }
    this.messages.replaceChildren();
    this.#setMode(null, false);
    this.#newestShown = 0;
    this.#isPinned = true;
    this.#lastScrollTop = 0;
    this.input.value = this.#drafts.get(id) ?? '';
    this.#autosize();
    this.#header();
    this.#banner();
    byId('history-status').textContent = 'Loading messages…';
    // Phones would pop the keyboard over the messages: only focus where a real keyboard is likely.
    if (window.matchMedia('(pointer: fine)').matches) this.input.focus();
    try {
      this.opening = this.client.open(id);
      await this.opening;
    } catch (e) {
      if (this.id === id) byId('history-status').textContent = `Could not load messages: ${e.message}`;
      return;
    }
    if (this.id !== id) return;
    this.#render({ toBottom: true });
  }

  #header() {
    const c = this.store.conversations.get(this.id);
    if (!c) return;
    const title = this.store.title(c);
    byId('chat-title').textContent = title;
    paintAvatar(byId('chat-avatar'), title);
    byId('chat-avatar').classList.toggle('group', c.type === 'group');
    const members = c.members ?? [];
    const others = members.filter((m) => m.user_id !== this.client.me.user_id);
    const typing = this.client.typingIn(c.id);
    const presence = c.type === 'private' && others[0] && this.client.presence.get(others[0].user_id);
    if (c.type === 'private' && others[0]) this.client.loadPresence(others[0].user_id);
    byId('chat-subtitle').textContent = typing.length
      ? c.type === 'private'
        ? 'typing…'
        : `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`
      : presence?.status === 'online'
        ? 'online'
        : presence?.last_seen_at
          ? `last seen ${dayTime(Date.parse(presence.last_seen_at))}`
          : c.type === 'group'
            ? `${members.length} members: ${[...others.map((m) => m.display_name || m.username), 'you'].join(', ')}`
            : c.type === 'channel'
              ? channelSubtitle(c, others)
              : others[0]
                ? `@${others[0].username}`
                : '';
    byId('group-info-button').hidden = c.type !== 'group';
    this.channelBar.show(c);
  }

  #queueRender() {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    requestAnimationFrame(() => {
      this.#renderQueued = false;
      if (this.id) this.#render();
    });
  }

  #render({ toBottom = false } = {}) {
    const t = this.store.timeline(this.id);
    if (!t.isLoaded) return;
    const c = this.store.conversations.get(this.id);
    // Several authors: a group's members, or a contact and the agents who answer them.
    const isShared = c?.type === 'group' || c?.type === 'channel';
    const me = this.client.me.user_id;
    const names = memberNames(c);
    const items = [];
    let lastDay;
    let lastSender;
    for (const m of t.ordered()) {
      const day = dayKey(m.created_at);
      if (day !== lastDay) {
        items.push({ key: `day-${day}`, version: dayLabel(m.created_at), day: dayLabel(m.created_at) });
        lastDay = day;
        lastSender = undefined;
      }
      const author = senderKey(m);
      const showSender = isShared && m.sender_id !== me && author !== lastSender;
      const name = senderName(m, names, c?.contact);
      items.push({ key: m.message_id, version: `${m.v}|${showSender}|${name}`, m, showSender, name });
      lastSender = author;
    }

    const el = this.timeline;
    const before = { height: el.scrollHeight, top: el.scrollTop, first: this.messages.firstElementChild?.dataset.key, count: this.messages.childElementCount };
    const wasNearBottom = this.#isPinned || this.#distanceFromBottom() < NEAR_BOTTOM_PX;
    reconcile(this.messages, items, {
      key: (item) => item.key,
      version: (item) => item.version,
      render: (item, replaced) => {
        if (item.day) return h('li', { class: 'day' }, h('span', {}, item.day));
        const m = item.m;
        // Only messages that just arrived slide in; redraws and older pages appear in place.
        const isEntering = !replaced && before.count > 0 && (m.seq === null || m.seq > this.#newestShown);
        return renderMessage(m, {
          ...this.context,
          isMine: m.sender_id === me,
          showSender: item.showSender,
          senderName: item.name,
          hue: hue(item.name),
          isEntering,
        });
      },
    });
    this.#newestShown = Math.max(this.#newestShown, t.newestSeq());
    const last = items.at(-1)?.m;
    const isOlderPage = before.count > 0 && before.first !== this.messages.firstElementChild?.dataset.key;
    if (toBottom || (last && last.sender_id === me && last.seq === null) || (wasNearBottom && !isOlderPage)) this.#toBottom();
    // Keep the message the user was reading in place when older ones appear above it.
    else if (isOlderPage) el.scrollTop = before.top + (el.scrollHeight - before.height);
    else if (this.messages.childElementCount > before.count) byId('jump-button').hidden = false;
    byId('history-status').textContent = t.hasOlder ? '' : items.length ? 'This is the beginning of the conversation.' : 'No messages yet. Say hello!';
    this.#onScroll();
  }

  #distanceFromBottom() {
    const el = this.timeline;
    return el.scrollHeight - el.scrollTop - el.clientHeight;
  }

  #toBottom(isSmooth = false) {
    this.timeline.scrollTo({ top: this.timeline.scrollHeight, behavior: isSmooth ? 'smooth' : 'instant' });
    byId('jump-button').hidden = true;
  }

  #onScroll() {
    if (!this.id) return;
    // Only the reader scrolling up unpins: content growing below (images loading) must not.
    const top = this.timeline.scrollTop;
    if (this.#distanceFromBottom() < NEAR_BOTTOM_PX) this.#isPinned = true;
    else if (top < this.#lastScrollTop) this.#isPinned = false;
    this.#lastScrollTop = top;
    if (this.#isPinned) byId('jump-button').hidden = true;
    const t = this.store.timeline(this.id);
    if (this.timeline.scrollTop < LOAD_OLDER_PX && t.hasOlder && !t.isLoadingOlder) {
      byId('history-status').textContent = 'Loading older messages…';
      this.client.loadOlder(this.id).catch((e) => (byId('history-status').textContent = `Could not load older messages: ${e.message}`));
    }
  }

  #progress({ messageId, fraction }) {
    const li = this.messages.querySelector(`li[data-key="${messageId}"]`);
    const bar = li?.querySelector('progress');
    if (!bar) return;
    const percent = Math.round(fraction * 100);
    bar.value = percent;
    const text = li.querySelector('.upload-text');
    if (text && !text.textContent.startsWith('Paused')) text.textContent = `${percent}%`;
  }

  #announce(m) {
    const c = this.store.conversations.get(m.conversation_id);
    const who = senderName(m, memberNames(c), c?.contact);
    const what =
      m.payload?.type === 'file'
        ? `sent a file, ${m.payload.filename ?? ''}`
        : m.payload?.type === 'template'
          ? `sent the template ${m.payload.name}`
          : (m.payload?.content ?? '');
    if (m.conversation_id === this.id) announce(`${who}: ${what}`);
    else {
      announce(`New message from ${who}${c?.type === 'group' ? ` in ${this.store.title(c)}` : ''}`);
    }
  }

  #banner() {
    const banner = byId('offline-banner');
    clearTimeout(this.bannerTimer);
    if (this.client.live.state === 'online') {
      banner.hidden = true;
      return;
    }
    // Do not flash the banner during an ordinary (re)connect.
    this.bannerTimer = setTimeout(() => {
      banner.textContent = 'Waiting for the network… Messages you write are sent when the connection is back.';
      banner.hidden = this.client.live.state === 'online';
    }, 1500);
  }

  /** Shows `messageId` in context: loads older pages until it is there, scrolls to it and focuses it. */
  async reveal(messageId, seq) {
    await this.opening?.catch(() => undefined);
    const id = this.id;
    const t = this.store.timeline(id);
    for (let n = 0; n < 40 && this.id === id && !t.byId.has(messageId) && t.hasOlder && !(seq >= t.bottom); n++)
      if (!(await this.client.loadOlder(id).catch(() => false))) await new Promise((r) => setTimeout(r, 150));
    if (this.id !== id) return;
    this.#render();
    const li = this.messages.querySelector(`li[data-key="${messageId}"]`);
    if (!li) return void toast('That message is no longer available', { isError: true });
    this.#isPinned = false;
    li.scrollIntoView({ block: 'center' });
    li.tabIndex = -1;
    li.focus({ preventScroll: true });
    li.classList.remove('flash');
    requestAnimationFrame(() => li.classList.add('flash'));
  }

  /** Reply to or edit a message in the composer (null: a plain new message). */
  #setMode(mode, focus = true) {
    const was = this.#mode;
    this.#mode = mode;
    const bar = byId('compose-context');
    bar.hidden = !mode;
    if (mode) {
      const m = mode.m;
      const who = m.sender_id === this.client.me.user_id ? 'yourself' : (m.sender_username ?? 'the contact');
      const text = m.payload?.type === 'text' ? m.payload.content : (m.payload?.filename ?? 'a file');
      byId('compose-context-text').textContent = mode.kind === 'edit' ? `Editing: ${text.slice(0, 100)}` : `Replying to ${who}: ${text.slice(0, 100)}`;
      bar.dataset.kind = mode.kind;
      if (mode.kind === 'edit') this.input.value = m.payload.content;
    } else if (was?.kind === 'edit') this.input.value = '';
    this.#autosize();
    if (focus) this.input.focus();
  }

  #wireComposer() {
    const form = byId('composer');
    const send = () => {
      if (!this.id || !this.input.value.trim()) return;
      const mode = this.#mode;
      if (mode?.kind === 'edit') {
        if (this.input.value.trim() !== mode.m.payload.content)
          this.client.edit(mode.m, this.input.value.trim()).catch((e) => toast(e.message, { isError: true }));
      } else
        this.client.sendText(
          this.id,
          this.input.value,
          mode && {
            message_id: mode.m.message_id,
            sender_username: mode.m.sender_username,
            excerpt: mode.m.payload?.content?.slice(0, 100) ?? '',
            deleted: false,
          },
        );
      this.#setMode(null, false);
      this.input.value = '';
      this.#drafts.delete(this.id);
      this.#autosize();
      this.input.focus();
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      send();
    });
    this.input.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter is a new line; never while an IME is composing a character.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      }
      if (e.key === 'Escape' && this.#mode) this.#setMode(null);
      else if (e.key === 'Escape' && window.matchMedia('(max-width: 720px)').matches) location.hash = '#/';
    });
    this.input.addEventListener('input', () => {
      this.#autosize();
      if (this.input.value.trim() && this.#mode?.kind !== 'edit') this.client.noteTyping(this.id);
    });
  }

  #autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  #wireFiles() {
    byId('attach-button').addEventListener('click', () => {
      this.#resumeTarget = null;
      this.fileInput.multiple = true;
      this.fileInput.click();
    });
    this.fileInput.addEventListener('change', () => {
      const files = [...this.fileInput.files];
      this.fileInput.value = '';
      if (this.#resumeTarget) {
        try {
          this.client.uploads.resume(this.#resumeTarget, files[0]);
        } catch (e) {
          toast(e.message, { isError: true });
        }
        this.#resumeTarget = null;
        return;
      }
      this.#sendFiles(files);
    });
    const view = byId('chat-view');
    view.addEventListener('dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      view.classList.add('dropping');
    });
    view.addEventListener('dragleave', (e) => e.target === view && view.classList.remove('dropping'));
    view.addEventListener('drop', (e) => {
      view.classList.remove('dropping');
      if (!e.dataTransfer?.files.length) return;
      e.preventDefault();
      this.#sendFiles([...e.dataTransfer.files]);
    });
    this.input.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])];
      if (!files.length) return;
      e.preventDefault();
      this.#sendFiles(files);
    });
  }

  #sendFiles(files) {
    if (!this.id) return;
    for (const file of files) this.client.uploads.send(this.id, file);
    this.#toBottom();
  }

  #resume(messageId) {
    if (this.client.uploads.hasFile(messageId)) return this.client.uploads.resume(messageId);
    // After a reload the browser no longer has the file: ask for it again.
    this.#resumeTarget = messageId;
    this.fileInput.multiple = false;
    this.fileInput.click();
    return undefined;
  }
}
