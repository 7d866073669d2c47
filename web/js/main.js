/** Boot: restore the session or show sign-in, then wire the client to the views and the URL. */
import { Session } from './session.js';
import { Client } from './client.js';
import { byId, toast } from './dom.js';
import { backoff, sleep } from './http.js';
import { showAuth } from './views/auth.js';
import { Sidebar } from './views/sidebar.js';
import { ChatView } from './views/chat.js';
import { Dialogs } from './views/dialogs.js';
import { GroupInfo } from './views/group-info.js';
import { ChannelStatus } from './views/channel-status.js';
import { PushNotifications } from './push.js';
import { Attention } from './attention.js';
import { AppsSettings } from './views/apps.js';
import { WebhookSettings } from './views/settings-webhooks.js';

const session = new Session();
// Signing out (here or in another tab, or a dead refresh token) starts over from a clean page.
session.addEventListener('signedout', () => location.replace(location.pathname));

if (session.isSignedIn) start();
else showAuth(session, start);

async function start() {
  byId('auth').hidden = true;
  byId('app').hidden = false;
  const client = new Client(session);
  const sidebar = new Sidebar(client);
  const chat = new ChatView(client);
  new Dialogs(client, (id) => (location.hash = `#/c/${id}`));
  new ChannelStatus(client);
  new GroupInfo(client);
  new Attention(client);
  const push = new PushNotifications(client.api);
  wireNotifyButton(push);
  // The next person on this browser must not get this account's notifications.
  byId('sign-out-button').addEventListener('click', async () => {
    await push.disable().catch(() => undefined);
    session.logout();
  });
  openSettings(client);
  // A notification clicked while a window is open: the service worker asks it to show the conversation.
  navigator.serviceWorker?.addEventListener('message', (e) => {
    if (e.data?.type === 'open-conversation' && e.data.conversation_id) location.hash = `#/c/${e.data.conversation_id}`;
  });
  client.addEventListener('closed', () => (location.hash = '#/'));
  sidebar.onHit = (hit) => {
    chat.show(hit.conversation_id);
    location.hash = `#/c/${hit.conversation_id}`;
    chat.reveal(hit.message_id, hit.seq);
  };

  // The skip link must not change the hash: the hash is the route.
  byId('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    (chat.id ? byId('composer-input') : byId('filter-input')).focus();
  });

  let shown = null;
  const route = () => {
    const id = Number(/^#\/c\/(\d+)$/.exec(location.hash)?.[1]) || null;
    byId('app').dataset.view = id ? 'chat' : 'list';
    sidebar.select(id);
    chat.show(id);
    // Back on the list (phones): continue from the conversation just left.
    if (!id && shown) document.querySelector(`a.conv[data-conversation-id="${shown}"]`)?.focus();
    shown = id;
  };
  window.addEventListener('hashchange', route);

  for (let attempt = 0; ; attempt++) {
    try {
      await client.start();
      break;
    } catch (e) {
      if (!session.isSignedIn) return;
      toast(`Cannot reach the server (${e.message}). Retrying…`, { isError: true });
      await sleep(backoff(attempt));
    }
  }
  route();
  push.start().catch(() => undefined);
}

/** The bell in the header: permission is asked only from this click (browsers require a gesture). */
function wireNotifyButton(push) {
  const button = byId('notify-button');
  const labels = { on: 'Turn off notifications', off: 'Turn on notifications', blocked: 'Notifications are blocked in the browser settings' };
  const show = () => {
    const state = push.state;
    button.hidden = state === 'unsupported';
    button.setAttribute('aria-pressed', String(state === 'on'));
    button.dataset.state = state;
    button.setAttribute('aria-label', labels[state] ?? labels.off);
    button.title = labels[state] ?? labels.off;
  };
  push.addEventListener('change', show);
  button.addEventListener('click', async () => {
    try {
      if (push.state === 'on') await push.disable();
      else if (push.state === 'blocked') toast(labels.blocked, { isError: true });
      else if ((await push.enable()) !== 'on') toast('Notifications were not allowed', { isError: true });
    } catch (e) {
      toast(`Notifications could not be turned on (${e.message})`, { isError: true });
    }
  });
  show();
}

/** The settings dialog; each section loads when it opens. */
function openSettings(client) {
  const dialog = byId('settings-dialog');
  const apps = new AppsSettings(client.api);
  const webhooks = new WebhookSettings(client.api, byId('settings-webhooks'));
  byId('settings-button').addEventListener('click', () => {
    dialog.showModal();
    apps.refresh().catch((e) => apps.fail(e));
    webhooks.refresh();
  });
  byId('settings-close').addEventListener('click', () => dialog.close());
}
