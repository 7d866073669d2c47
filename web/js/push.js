/**
 * Web Push for this browser: registers the service worker (web/sw.js), asks permission from a
 * click, subscribes with the server's VAPID key and hands the subscription to the API. A signed-in
 * user who already allowed notifications is re-registered at start, so the subscription follows
 * the account now using the browser.
 */
export class PushNotifications extends EventTarget {
  #registration = null;

  constructor(api) {
    super();
    this.api = api;
  }

  /** Service workers need a secure context (https or localhost); PushManager may still be absent. */
  get isSupported() {
    return window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  }

  /** 'on', 'off' (may ask), 'blocked' (the user said no) or 'unsupported'. */
  get state() {
    if (!this.isSupported) return 'unsupported';
    if (Notification.permission === 'denied') return 'blocked';
    return this.isOn ? 'on' : 'off';
  }

  isOn = false;

  /** Registers the worker and, when permission was already given, refreshes the subscription. */
  async start() {
    if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
    this.#registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    if (this.isSupported && Notification.permission === 'granted') await this.#subscribe().catch(() => undefined);
    this.#changed();
  }

  /** Called from a click: asks permission, then subscribes. Resolves with the new state. */
  async enable() {
    const permission = await Notification.requestPermission();
    if (permission === 'granted') await this.#subscribe();
    this.#changed();
    return this.state;
  }

  /** Stops notifications for this browser (the user's choice, or signing out). */
  async disable() {
    const subscription = await this.#registration?.pushManager.getSubscription();
    if (subscription) {
      await this.api.request('DELETE', '/v1/push/subscriptions', { body: { endpoint: subscription.endpoint } }).catch(() => undefined);
      await subscription.unsubscribe().catch(() => undefined);
    }
    this.isOn = false;
    this.#changed();
  }

  async #subscribe() {
    const registration = this.#registration ?? (await navigator.serviceWorker.ready);
    const { public_key: publicKey } = await this.api.get('/v1/push/vapid-public-key');
    let subscription = await registration.pushManager.getSubscription();
    // A subscription made with another server key (the server's keys changed) cannot be used.
    if (subscription && toBase64Url(subscription.options.applicationServerKey) !== publicKey) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64Url(publicKey) });
    await this.api.post('/v1/push/subscriptions', subscription.toJSON());
    this.isOn = true;
  }

  #changed() {
    this.dispatchEvent(new Event('change'));
  }
}

function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function toBase64Url(buffer) {
  if (!buffer) return '';
  return btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}
