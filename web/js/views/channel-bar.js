/**
 * The parts of the chat pane only channel conversations have: the platform's badge in the header,
 * WhatsApp's reply window, and a small form to send a template once that window has closed.
 */
import { byId, toast } from '../dom.js';
import { dayTime } from '../format.js';
import { channelName, replyWindow } from '../channels.js';

const TIMER_MAX_MS = 2 ** 31 - 1;
const COMPOSER_PLACEHOLDER = 'Write a message';

export class ChannelBar {
  #id = null;
  #timer;
  // conversation id → the contact's last_inbound_at when the server refused a free-form send:
  // the server's word beats our clock until the contact writes again.
  #refusedAt = new Map();

  constructor(client) {
    this.client = client;
    this.badge = byId('chat-channel');
    this.window = byId('channel-window');
    this.form = byId('template-form');
    this.name = byId('template-name');
    this.language = byId('template-language');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#sendTemplate();
    });
    client.addEventListener('refused', (e) => this.#onRefused(e.detail));
  }

  /** Paints conversation `c` (a conversation of another type hides everything). */
  show(c) {
    clearTimeout(this.#timer);
    this.#id = c?.id ?? null;
    const contact = c?.type === 'channel' ? c.contact : undefined;
    this.badge.hidden = !contact;
    if (contact) {
      this.badge.textContent = channelName(contact.channel);
      this.badge.dataset.channel = contact.channel;
    }
    const w = replyWindow(contact);
    const isRefused = contact !== undefined && this.#refusedAt.has(c.id) && this.#refusedAt.get(c.id) === contact.last_inbound_at;
    const isOpen = Boolean(w?.isOpen) && !isRefused;
    this.window.hidden = !w;
    this.form.hidden = !w || isOpen;
    byId('composer-input').placeholder = w && !isOpen ? 'Free-form messages are refused until the contact writes again' : COMPOSER_PLACEHOLDER;
    if (!w) return;
    this.window.dataset.state = isOpen ? 'open' : 'closed';
    this.window.textContent = isOpen ? `Reply window open until ${dayTime(w.until)}` : 'Window closed — only templates can be sent';
    // Repaint the moment the window closes while the conversation is on screen.
    if (isOpen) this.#timer = setTimeout(() => this.show(this.client.store.conversations.get(this.#id)), Math.min(w.until - Date.now() + 500, TIMER_MAX_MS));
  }

  /** Brings up the template form (a refused message offers it). */
  focusTemplate() {
    this.form.hidden = false;
    this.name.focus();
  }

  #sendTemplate() {
    const name = this.name.value.trim();
    const language = this.language.value.trim();
    // The server's rules (WhatsApp template names and language codes), checked here to say why.
    if (!/^[A-Za-z0-9_]+$/.test(name) || !/^[A-Za-z_]{2,15}$/.test(language)) {
      toast('A template name has letters, digits and underscores; a language looks like en_US.', { isError: true });
      return;
    }
    if (!this.#id) return;
    this.client.sendTemplate(this.#id, name, language);
    this.name.value = '';
  }

  #onRefused({ conversationId, error }) {
    if (error.code !== 'channel-window-closed') return;
    const c = this.client.store.conversations.get(conversationId);
    this.#refusedAt.set(conversationId, c?.contact?.last_inbound_at);
    toast(error.message, { isError: true });
    if (conversationId === this.#id) this.show(c);
  }
}
