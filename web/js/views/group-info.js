/** Group info: name, description, members with roles; owners and admins edit, add and remove; the owner makes admins; anyone leaves. */
import { byId, h, toast } from '../dom.js';
import { avatar } from './sidebar.js';
import { peopleSearch } from './dialogs.js';

const RANK = { owner: 2, admin: 1, member: 0 };
const ROLE_LABEL = { owner: 'Owner', admin: 'Admin', member: 'Member' };

export class GroupInfo {
  id = null;

  constructor(client) {
    this.client = client;
    this.dialog = byId('group-dialog');
    this.error = byId('group-info-error');
    byId('group-info-button').addEventListener('click', () => this.show(client.openId));
    byId('group-dialog-close').addEventListener('click', () => this.dialog.close());
    byId('group-form').addEventListener('submit', (e) => this.#save(e));
    byId('group-leave').addEventListener('click', () => this.#leave());
    peopleSearch(
      client,
      byId('group-add-search'),
      byId('group-add-results'),
      (user) => this.#add(user),
      (user) => !this.#conversation()?.members?.some((m) => m.user_id === user.user_id),
    );
    client.store.addEventListener('conversations', () => this.dialog.open && this.#paint());
    client.addEventListener('closed', () => this.dialog.close());
  }

  #conversation = () => this.client.store.conversations.get(this.id);

  #myRole = () => this.#conversation()?.members?.find((m) => m.user_id === this.client.me.user_id)?.role ?? 'member';

  show(id) {
    const c = this.client.store.conversations.get(id);
    if (c?.type !== 'group') return;
    this.id = id;
    byId('group-edit-name').value = c.name ?? '';
    byId('group-edit-description').value = c.description ?? '';
    byId('group-add-search').value = '';
    byId('group-add-results').replaceChildren();
    this.error.textContent = '';
    this.#paint();
    this.dialog.showModal();
    byId(RANK[this.#myRole()] ? 'group-edit-name' : 'group-dialog-close').focus();
  }

  #paint() {
    const c = this.#conversation();
    if (!c) return;
    const mine = this.#myRole();
    const isManager = RANK[mine] >= RANK.admin;
    for (const id of ['group-edit-name', 'group-edit-description']) byId(id).readOnly = !isManager;
    byId('group-save').hidden = !isManager;
    byId('group-add-field').hidden = !isManager;
    byId('group-add-results').hidden = !isManager;
    const members = [...(c.members ?? [])].sort(
      (a, b) => RANK[b.role] - RANK[a.role] || (a.display_name || a.username).localeCompare(b.display_name || b.username),
    );
    byId('group-count').textContent = `${members.length} members`;
    // Redrawn on every change, others' too (member.role_changed): the keyboard stays on the same button of the same row.
    const list = byId('group-member-list');
    const row = list.contains(document.activeElement) && document.activeElement.closest('.member');
    const at = row && [row.dataset.userId, [...row.querySelectorAll('button')].indexOf(document.activeElement)];
    list.replaceChildren(
      ...members.map((m) => {
        const name = m.display_name || m.username;
        const isMe = m.user_id === this.client.me.user_id;
        // The server's rule (src/domain/group.ts): managers remove only those ranked below them.
        const canRemove = !isMe && isManager && RANK[mine] > RANK[m.role];
        // Only the owner changes roles; handing ownership over stays an API matter.
        const isAdmin = m.role === 'admin';
        const canSetRole = !isMe && mine === 'owner';
        return h(
          'li',
          { class: 'member', dataset: { userId: m.user_id, role: m.role } },
          avatar(name),
          h('span', { class: 'person-text' }, h('strong', {}, isMe ? `${name} (you)` : name), h('span', {}, `@${m.username}`)),
          m.role !== 'member' && h('span', { class: 'role' }, ROLE_LABEL[m.role]),
          canSetRole &&
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                'aria-label': isAdmin ? `Remove ${name} as admin` : `Make ${name} an admin`,
                onclick: () => this.#setRole(m, name, isAdmin ? 'member' : 'admin'),
              },
              isAdmin ? 'Remove admin' : 'Make admin',
            ),
          canRemove &&
            h('button', { type: 'button', class: 'link', 'aria-label': `Remove ${name} from the group`, onclick: () => this.#remove(m, name) }, 'Remove'),
        );
      }),
    );
    if (at) list.querySelector(`[data-user-id="${at[0]}"]`)?.querySelectorAll('button')[at[1]]?.focus();
  }

  async #act(action, done, focusAfter) {
    this.error.textContent = '';
    try {
      await action();
      toast(done);
      focusAfter?.focus();
    } catch (e) {
      this.error.textContent = e.message;
    }
  }

  #add(user) {
    const search = byId('group-add-search');
    search.value = '';
    byId('group-add-results').replaceChildren();
    return this.#act(() => this.client.addMembers(this.id, [user.user_id]), `${user.username} was added`, search);
  }

  #save(e) {
    e.preventDefault();
    const name = byId('group-edit-name').value.trim();
    if (!name) return void (this.error.textContent = 'Give the group a name.');
    const description = byId('group-edit-description').value.trim();
    return this.#act(() => this.client.updateGroup(this.id, { name, description }), 'Group info saved');
  }

  #setRole(member, name, role) {
    const done = role === 'admin' ? `${name} is now an admin` : `${name} is no longer an admin`;
    return this.#act(() => this.client.changeRole(this.id, member.user_id, role), done);
  }

  #remove(member, name) {
    if (!window.confirm(`Remove ${name} from the group?`)) return undefined;
    return this.#act(
      () => this.client.removeMember(this.id, member.user_id),
      `${name} was removed`,
      byId('group-member-list').querySelector('button') ?? byId('group-dialog-close'),
    );
  }

  #leave() {
    if (!window.confirm('Leave this group? You will no longer get its messages.')) return undefined;
    return this.#act(() => this.client.removeMember(this.id, this.client.me.user_id), 'You left the group');
  }
}
