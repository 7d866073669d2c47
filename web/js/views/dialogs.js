/** "New chat" (find a person, open the private chat) and "New group" (name + at least two people). */
import { byId, h, toast } from '../dom.js';
import { avatar } from './sidebar.js';

const SEARCH_DELAY_MS = 150;

export class Dialogs {
  #members = new Map();

  constructor(client, openConversation) {
    this.client = client;
    this.open = openConversation;
    this.chat = byId('new-chat-dialog');
    this.group = byId('new-group-dialog');
    for (const id of ['new-chat-button', 'empty-new-chat']) byId(id).addEventListener('click', () => this.#showChat());
    byId('new-group-button').addEventListener('click', () => this.#showGroup());
    byId('new-group-close').addEventListener('click', () => this.group.close());
    peopleSearch(client, byId('new-chat-search'), byId('new-chat-results'), (user) => this.#startPrivate(user));
    peopleSearch(
      client,
      byId('group-search'),
      byId('group-results'),
      (user) => this.#addMember(user),
      (user) => !this.#members.has(user.user_id),
    );
    byId('new-group-form').addEventListener('submit', (e) => this.#createGroup(e));
  }

  #showChat() {
    byId('new-chat-search').value = '';
    byId('new-chat-results').replaceChildren();
    this.chat.showModal();
    byId('new-chat-search').focus();
  }

  #showGroup() {
    this.#members.clear();
    this.#paintMembers();
    for (const id of ['group-name', 'group-search']) byId(id).value = '';
    byId('group-results').replaceChildren();
    byId('group-error').textContent = '';
    this.group.showModal();
    byId('group-name').focus();
  }

  async #startPrivate(user) {
    try {
      const id = await this.client.startPrivate(user.user_id);
      this.chat.close();
      this.open(id);
    } catch (e) {
      toast(`Could not start the chat: ${e.message}`, { isError: true });
    }
  }

  #addMember(user) {
    this.#members.set(user.user_id, user);
    this.#paintMembers();
    const search = byId('group-search');
    search.value = '';
    byId('group-results').replaceChildren();
    search.focus();
  }

  #paintMembers() {
    const chips = [...this.#members.values()].map((u) =>
      h(
        'span',
        { class: 'chip' },
        u.display_name || u.username,
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Remove ${u.username}`,
            onclick: () => (this.#members.delete(u.user_id), this.#paintMembers(), byId('group-search').focus()),
          },
          '×',
        ),
      ),
    );
    byId('group-members').replaceChildren(...chips);
    byId('group-create').textContent = this.#members.size ? `Create group (${this.#members.size + 1} people)` : 'Create group';
  }

  async #createGroup(e) {
    e.preventDefault();
    const name = byId('group-name').value.trim();
    const error = byId('group-error');
    if (!name) return void ((error.textContent = 'Give the group a name.'), byId('group-name').focus());
    if (this.#members.size < 2) return void ((error.textContent = 'Add at least two people.'), byId('group-search').focus());
    const button = byId('group-create');
    button.disabled = true;
    try {
      const id = await this.client.createGroup(name, [...this.#members.keys()]);
      this.group.close();
      this.open(id);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }
}

function personRow(user, onPick) {
  const name = user.display_name || user.username;
  return h(
    'li',
    {},
    h(
      'button',
      { type: 'button', class: 'person', onclick: onPick },
      avatar(name),
      h('span', { class: 'person-text' }, h('strong', {}, name), h('span', {}, `@${user.username}`)),
    ),
  );
}

/** Searches as the user types; Enter picks the first result, arrows walk the results. */
export function peopleSearch(client, input, results, pick, isOffered = () => true) {
  let timer;
  let generation = 0;
  const run = async () => {
    const query = input.value.trim();
    const mine = ++generation;
    if (!query) return results.replaceChildren();
    try {
      const users = (await client.searchUsers(query)).filter(isOffered);
      if (mine !== generation) return undefined;
      results.replaceChildren(
        ...(users.length ? users.map((u) => personRow(u, () => pick(u))) : [h('li', { class: 'people-empty' }, `No one called “${query}…”`)]),
      );
    } catch (e) {
      results.replaceChildren(h('li', { class: 'people-empty' }, `Search failed: ${e.message}`));
    }
    return undefined;
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, SEARCH_DELAY_MS);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      results.querySelector('button')?.click();
    }
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      results.querySelector('button')?.focus();
    }
  });
  results.addEventListener('keydown', (e) => {
    const buttons = [...results.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' && i >= 0) buttons[Math.min(i + 1, buttons.length - 1)].focus();
    else if (e.key === 'ArrowUp' && i >= 0) (i === 0 ? input : buttons[i - 1]).focus();
    else return;
    e.preventDefault();
  });
}
