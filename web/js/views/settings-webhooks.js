/**
 * Settings → Webhooks: the signed-in user's outbound webhook endpoints. Creating one shows its
 * signing secret once; each endpoint lists its recent deliveries (status code, latency, error, retries).
 */
import { h, toast } from '../dom.js';

const EVENTS = [
  'message.created',
  'message.status',
  'message.updated',
  'message.deleted',
  'conversation.created',
  'conversation.read',
  'member.joined',
  'member.left',
  'contact.created',
  'upload.completed',
];

export class WebhookSettings {
  constructor(api, section) {
    this.api = api;
    this.section = section;
    this.list = h('ul', { id: 'webhook-list', class: 'webhook-list', 'aria-label': 'Webhook endpoints' });
    this.secret = h('p', { id: 'webhook-secret', class: 'webhook-secret', role: 'status', hidden: true });
    this.error = h('p', { id: 'webhook-error', class: 'form-error', role: 'alert' });
    this.url = h('input', { id: 'webhook-url', type: 'url', required: true, maxlength: 2048, placeholder: 'https://example.com/hooks', spellcheck: 'false' });
    const boxes = EVENTS.map((e) =>
      h('label', { class: 'webhook-event' }, h('input', { type: 'checkbox', name: 'webhook-event', value: e, checked: e === 'message.created' }), ` ${e}`),
    );
    this.form = h(
      'form',
      { id: 'webhook-form', class: 'dialog-body webhook-form', onsubmit: (e) => this.#create(e) },
      h('label', { class: 'field' }, h('span', {}, 'Endpoint URL'), this.url),
      h('fieldset', { class: 'webhook-events' }, h('legend', {}, 'Events'), boxes),
      this.error,
      h('button', { type: 'submit', class: 'primary', id: 'webhook-create' }, 'Add endpoint'),
    );
    section.replaceChildren(h('h3', {}, 'Webhooks'), this.form, this.secret, this.list);
  }

  /** Loads the endpoints and their recent deliveries. */
  async refresh() {
    try {
      const { endpoints } = await this.api.get('/v1/webhooks/endpoints');
      const rows = await Promise.all(
        endpoints.map(async (ep) => [ep, (await this.api.get(`/v1/webhooks/endpoints/${ep.endpoint_id}/deliveries?limit=10`)).deliveries]),
      );
      this.list.replaceChildren(
        ...(rows.length ? rows.map(([ep, deliveries]) => endpointRow(ep, deliveries)) : [h('li', { class: 'people-empty' }, 'No endpoints yet.')]),
      );
    } catch (e) {
      toast(`Webhooks could not be loaded: ${e.message}`, { isError: true });
    }
  }

  async #create(event) {
    event.preventDefault();
    const events = [...this.form.querySelectorAll('input[name="webhook-event"]:checked')].map((b) => b.value);
    this.error.textContent = '';
    try {
      const created = await this.api.post('/v1/webhooks/endpoints', { url: this.url.value.trim(), events });
      this.secret.hidden = false;
      this.secret.replaceChildren('Signing secret (shown only now; keep it with your receiver): ', h('code', {}, created.secret));
      this.url.value = '';
      await this.refresh();
    } catch (e) {
      this.error.textContent = e.message;
    }
  }
}

function endpointRow(ep, deliveries) {
  const state = ep.enabled ? 'enabled' : `disabled: ${ep.disabled_reason ?? ''}`;
  return h(
    'li',
    { class: 'webhook', dataset: { endpointId: ep.endpoint_id } },
    h('div', { class: 'webhook-head' }, h('strong', {}, ep.url), h('span', { class: 'webhook-state' }, state)),
    h('div', { class: 'webhook-meta' }, ep.events.join(', ')),
    h(
      'table',
      { class: 'webhook-deliveries', 'aria-label': `Recent deliveries to ${ep.url}` },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['event', 'status', 'code', 'latency', 'attempts', 'error / next retry'].map((c) => h('th', {}, c)),
        ),
      ),
      h(
        'tbody',
        {},
        deliveries.map((d) =>
          h(
            'tr',
            { dataset: { status: d.status } },
            h('td', {}, d.event_type),
            h('td', {}, d.status),
            h('td', {}, d.status_code ?? '—'),
            h('td', {}, d.latency_ms === null ? '—' : `${d.latency_ms} ms`),
            h('td', {}, String(d.attempts)),
            h('td', {}, d.error ?? (d.next_attempt_at ? `retry ${new Date(d.next_attempt_at).toLocaleTimeString()}` : '')),
          ),
        ),
      ),
    ),
  );
}
