/** Boot: restore the session or show sign-in, then wire the client to the views and the URL. */
import { Session } from './session.js';
import { Client } from './client.js';
import { byId, toast } from './dom.js';
import { backoff, sleep } from './http.js';
import { showAuth } from './views/auth.js';
import { Sidebar } from './views/sidebar.js';
import { ChatView } from './views/chat.js';
import { Dialogs } from './views/dialogs.js';
import { ChannelStatus } from './views/channel-status.js';
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
  byId('sign-out-button').addEventListener('click', () => session.logout());
  const webhooks = new WebhookSettings(client.api, byId('settings-webhooks'));
  byId('settings-button').addEventListener('click', () => (byId('settings-dialog').showModal(), webhooks.refresh()));
  byId('settings-close').addEventListener('click', () => byId('settings-dialog').close());
  client.addEventListener('closed', () => (location.hash = '#/'));

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
}
