/** The left pane: who I am, the connection state, and the conversation list. */
import { byId, h, reconcile } from '../dom.js';
import { hue, initials, listStamp } from '../format.js';
import { channelBadge } from '../channels.js';

export class Sidebar {
  #selected = null;

  constructor(client) {
    this.client = client;
    this.store = client.store;
    this.list = byId('conversation-list');
    this.filter = byId('filter-input');
    const me = client.me;
    paintAvatar(byId('me-avatar'), me.display_name || me.username);
    byId('me-name').textContent = me.display_name || me.username;

    this.store.addEventListener('conversations', () => this.render());
    this.filter.addEventListener('input', () => (this.render(), this.#searchSoon()));
    client.live.addEventListener('state', () => this.#showConnection());
    this.list.addEventListener('keydown', (e) => this.#arrowKeys(e));
    this.#showConnection();
  }

  select(id) {
    this.#selected = id;
    this.render();
  }

  render() {
    const query = this.filter.value.trim().toLowerCase();
    const all = this.store.sortedConversations();
    const shown = query ? all.filter((c) => this.store.title(c).toLowerCase().includes(query)) : all;
    reconcile(this.list, shown, {
      key: (c) => String(c.id),
      version: (c) =>
        [this.store.title(c), c.preview, c.lastAt, c.unread, c.lastSender, c.members?.length, c.contact?.channel, c.id === this.#selected].join('\u0000'),
      render: (c) => this.#item(c),
    });
    byId('list-empty').hidden = all.length > 0;
  }

  #item(c) {
    const title = this.store.title(c);
    const isMine = Boolean(c.lastSender) && c.lastSender === this.client.me.username;
    const sender = c.members?.find((m) => m.username === c.lastSender);
    // Several people write in groups, and several agents answer one contact; a contact's own
    // messages (no username) need no prefix.
    const isShared = c.type === 'group' || c.type === 'channel';
    const who = isShared && c.lastSender && !isMine ? `${sender?.display_name || c.lastSender}: ` : isMine ? 'You: ' : '';
    const preview = c.preview ? who + c.preview : c.type === 'group' ? 'Group created' : 'No messages yet';
    return h(
      'li',
      {},
      h(
        'a',
        { class: 'conv', href: `#/c/${c.id}`, 'aria-current': c.id === this.#selected ? 'page' : false, dataset: { conversationId: c.id } },
        avatar(title, c.type === 'group'),
        h(
          'span',
          { class: 'conv-main' },
          h(
            'span',
            { class: 'conv-top' },
            h('span', { class: 'conv-title' }, title),
            c.contact && channelBadge(c.contact.channel),
            h('time', { class: 'conv-time', datetime: c.lastAt ?? c.createdAt }, listStamp(c.lastAt ?? c.createdAt)),
          ),
          h(
            'span',
            { class: 'conv-bottom' },
            h('span', { class: 'conv-preview' }, c.preview?.startsWith(FILE_PREFIX) ? fileLine(who, c.preview.slice(FILE_PREFIX.length)) : preview),
            c.unread > 0 && h('span', { class: 'badge', 'aria-label': `${c.unread} unread` }, c.unread > 99 ? '99+' : String(c.unread)),
          ),
        ),
      ),
    );
  }

  /** `onHit(hit)`: the reader picked a found message (main.js shows it in its conversation). */
  onHit = () => undefined;
  #searchTimer;
  #searchRun = 0;

  // Messages too, from the server's full-text search, once the query has two characters.
  #searchSoon() {
    clearTimeout(this.#searchTimer);
    const q = this.filter.value.trim();
    const run = ++this.#searchRun;
    if (q.length < 2) return void (byId('search-results').hidden = true);
    this.#searchTimer = setTimeout(async () => {
      const list = byId('search-list');
      let hits;
      try {
        hits = (await this.client.searchMessages(q)).results;
      } catch {
        hits = null;
      }
      if (run !== this.#searchRun) return;
      byId('search-results').hidden = false;
      if (!hits?.length) return void list.replaceChildren(h('li', { class: 'people-empty' }, hits ? 'No messages found' : 'Message search is unavailable'));
      list.replaceChildren(
        ...hits.map((hit) => {
          const c = this.store.conversations.get(hit.conversation_id);
          return h(
            'li',
            {},
            h(
              'button',
              { type: 'button', class: 'hit', onclick: () => this.onHit(hit) },
              h(
                'span',
                { class: 'conv-top' },
                h('strong', { class: 'conv-title' }, c ? this.store.title(c) : 'Conversation'),
                h('time', { class: 'conv-time' }, listStamp(hit.created_at)),
              ),
              h('span', { class: 'conv-preview' }, hit.sender_username ? `${hit.sender_username}: ` : '', snippet(hit.snippet_html)),
            ),
          );
        }),
      );
    }, 300);
  }

  #showConnection() {
    const el = byId('connection');
    const live = this.client.live;
    el.dataset.state = live.state;
    clearInterval(this.countdown);
    const paint = () => {
      const seconds = Math.max(0, Math.ceil((live.retryAt - Date.now()) / 1000));
      el.textContent =
        live.state === 'online' ? 'Online' : live.state === 'connecting' ? 'Connecting…' : seconds > 0 ? `Offline · retrying in ${seconds}s` : 'Offline';
    };
    paint();
    if (live.state === 'offline') this.countdown = setInterval(paint, 1000);
  }

  // Up/Down (and Home/End) move between conversations, as in a listbox.
  #arrowKeys(e) {
    const links = [...this.list.querySelectorAll('a.conv')];
    const i = links.indexOf(document.activeElement);
    if (i < 0) return;
    const next = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: links.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    links[Math.max(0, Math.min(links.length - 1, next))].focus();
  }
}

const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** The server's snippet (escaped text, matches in <mark>) as DOM nodes: the only tags kept are marks. */
function snippet(html) {
  let isMark = false;
  return html.split(/(<\/?mark>)/).map((part) => {
    if (part === '<mark>' || part === '</mark>') return void (isMark = part === '<mark>');
    const text = part.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]);
    return isMark ? h('mark', {}, text) : text;
  });
}

// The server's preview of a file message is "[File] <name>": show a paperclip instead.
const FILE_PREFIX = '[File] ';

function fileLine(who, name) {
  const line = h('span', { class: 'preview-file' }, who);
  line.insertAdjacentHTML(
    'beforeend',
    '<svg viewBox="0 0 24 24" aria-label="File"><path d="M20 11.5l-7.8 7.8a5 5 0 0 1-7-7L13 4.5a3.4 3.4 0 0 1 4.8 4.8l-7.9 7.8a1.7 1.7 0 0 1-2.4-2.4l7.2-7.2"/></svg>',
  );
  line.append(name);
  return line;
}

/** A round avatar with initials on a colour derived from the name. */
export function avatar(name, isGroup = false) {
  const el = h('span', { class: isGroup ? 'avatar group' : 'avatar', 'aria-hidden': 'true' });
  paintAvatar(el, name);
  return el;
}

export function paintAvatar(el, name) {
  el.textContent = initials(name);
  el.style.setProperty('--hue', hue(name));
}
