/**
 * The external channels at the foot of the sidebar: each one's mode (live, mock, disabled) and
 * health from GET /v1/channels, so nobody mistakes a mock for a platform that delivers.
 */
import { byId, h } from '../dom.js';
import { dayTime } from '../format.js';
import { channelBadge } from '../channels.js';

const MODE_TEXT = { live: 'Live', mock: 'Mock (nothing leaves this server)', disabled: 'Disabled' };

export class ChannelStatus {
  constructor(client) {
    this.client = client;
    this.panel = byId('channels');
    this.summary = byId('channels-summary');
    this.list = byId('channel-list');
    client.addEventListener('channels', () => this.render());
    // Health changes while the app is open: fetch it again each time the panel opens.
    this.panel.addEventListener('toggle', () => this.panel.open && client.loadChannels().catch(() => undefined));
  }

  render() {
    const channels = this.client.channels ?? [];
    this.panel.hidden = channels.length === 0;
    const count = (mode) => channels.filter((c) => c.mode === mode).length;
    const parts = ['live', 'mock', 'disabled'].filter((mode) => count(mode) > 0).map((mode) => `${count(mode)} ${mode}`);
    this.summary.textContent = `Channels: ${parts.join(', ')}`;
    // The dot shows the worst: every channel live (green), some mocked (amber), none usable (grey).
    this.panel.dataset.state = count('live') === channels.length ? 'live' : count('mock') > 0 ? 'mock' : 'disabled';
    this.list.replaceChildren(
      ...channels.map((c) =>
        h(
          'li',
          { class: 'channel-row', dataset: { channel: c.channel, mode: c.mode } },
          channelBadge(c.channel),
          h('span', { class: 'channel-mode', dataset: { mode: c.mode } }, MODE_TEXT[c.mode] ?? c.mode),
          h('span', { class: 'channel-health' }, healthText(c.health)),
        ),
      ),
    );
  }
}

function healthText(health) {
  if (!health) return '';
  if (health.consecutive_failures > 0 && health.last_error_at) {
    const n = health.consecutive_failures;
    return `${n} failed send${n === 1 ? '' : 's'} in a row, last at ${dayTime(Date.parse(health.last_error_at))}${health.last_error ? `: ${health.last_error}` : ''}`;
  }
  return health.last_success_at ? `Last send ${dayTime(Date.parse(health.last_success_at))}` : '';
}
