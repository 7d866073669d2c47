/**
 * The service worker: shows a Web Push notification for a new message and, when it is clicked,
 * brings a Chat4All window to that conversation (or opens one). The push carries only a preview
 * (docs/notifications.md); the page loads the message itself.
 */
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const sender = typeof data.sender_name === 'string' ? data.sender_name : 'Chat4All';
  const title = data.conversation_name ? `${sender} · ${data.conversation_name}` : sender;
  const id = Number(data.conversation_id) || null;
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof data.preview === 'string' ? data.preview : 'New message',
      icon: '/favicon.svg',
      // One notification per conversation: a newer message replaces it and alerts again.
      tag: id ? `conversation-${id}` : 'chat4all',
      renotify: Boolean(id),
      data: { conversationId: id },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = event.notification.data?.conversationId;
  const hash = id ? `#/c/${id}` : '#/';
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (open) {
        await open.focus();
        open.postMessage({ type: 'open-conversation', conversation_id: id });
        return;
      }
      await self.clients.openWindow(`/${hash}`);
    })(),
  );
});
