/**
 * Settings → Apps: create an app (its API key is shown once), list apps and their keys, rotate a
 * key (the old one keeps working for the grace period the server names), delete an app.
 */
import { byId, h, toast } from '../dom.js';
import { dayTime } from '../format.js';

const SCOPES = [
  'messages:read',
  'messages:write',
  'conversations:read',
  'conversations:write',
  'files:read',
  'files:write',
  'contacts:read',
  'webhooks:manage',
];

export class AppsSettings {
  constructor(api) {
    this.api = api;
    this.form = byId('app-form');
    this.list = byId('app-list');
    this.once = byId('app-key-once');
    byId('app-scopes').replaceChildren(
      ...SCOPES.map((s) => h('label', { class: 'scope' }, h('input', { type: 'checkbox', name: 'scope', value: s, checked: s.startsWith('messages:') }), s)),
    );
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.create().catch((err) => this.fail(err));
    });
  }

  async refresh() {
    const { items } = await this.api.get('/v1/apps');
    this.list.replaceChildren(...items.map((app) => this.row(app)));
    byId('app-list-empty').hidden = items.length > 0;
  }

  async create() {
    const name = byId('app-name').value.trim();
    const scopes = [...this.form.querySelectorAll('input[name=scope]:checked')].map((i) => i.value);
    byId('app-error').textContent = '';
    const app = await this.api.post('/v1/apps', { name, scopes });
    this.form.reset();
    this.showKey(app.api_key, `Key for "${app.name}". It is shown only now: copy it to your integration.`);
    await this.refresh();
  }

  async rotate(app) {
    const r = await this.api.post(`/v1/apps/${app.app_id}/keys`);
    const hours = Math.round((r.grace_seconds / 3600) * 10) / 10;
    this.showKey(
      r.api_key,
      `New key for "${app.name}", shown only now. The previous key keeps working for ${hours} h (until ${dayTime(Date.parse(r.previous_keys_expire_at))}).`,
    );
    await this.refresh();
  }

  async remove(app) {
    if (!window.confirm(`Delete "${app.name}"? Its keys stop working at once.`)) return;
    await this.api.request('DELETE', `/v1/apps/${app.app_id}`);
    this.once.hidden = true;
    toast(`"${app.name}" deleted`);
    await this.refresh();
  }

  showKey(key, text) {
    this.once.replaceChildren(
      h('p', {}, text),
      h('code', { id: 'app-key-value' }, key),
      h('button', { type: 'button', class: 'link', onclick: () => navigator.clipboard?.writeText(key).then(() => toast('Key copied')) }, 'Copy'),
    );
    this.once.hidden = false;
  }

  row(app) {
    const act = (label, fn) => h('button', { type: 'button', class: 'link', onclick: () => fn.call(this, app).catch((err) => this.fail(err)) }, label);
    return h(
      'li',
      { class: 'app-row', dataset: { appId: app.app_id } },
      h('strong', { class: 'app-name' }, app.name),
      h('span', { class: 'app-meta' }, `bot @${app.bot_username} (user ${app.bot_user_id}) · ${app.scopes.join(', ') || 'no scopes'}`),
      h(
        'ul',
        { class: 'app-keys' },
        app.keys.map((k) => h('li', {}, `${k.prefix}…`, k.expires_at ? ` (stops ${dayTime(Date.parse(k.expires_at))})` : '')),
      ),
      h('span', { class: 'app-actions' }, act('Rotate key', this.rotate), act('Delete', this.remove)),
    );
  }

  fail(err) {
    byId('app-error').textContent = err.message;
  }
}
