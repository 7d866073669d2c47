/**
 * Notifications in Debian's chromium: the tab title count and chime while the window is in the
 * background, and the push subscription made from the bell, through the service worker.
 *
 * Headless chromium cannot create a real push subscription (it has no push service to reach), so
 * `PushManager.subscribe` is replaced in the page by one that returns a subscription of the fake
 * push service (test/fakes/push-service.ts). Everything else is real: the permission (granted to the
 * profile), the service worker registration, the POST, the server's encrypted push to the fake, and
 * the worker's notification for a push delivered over the DevTools protocol. Clicking a system
 * notification cannot be driven headless; the click handler is not covered here.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CDPSession, Page } from 'playwright-core';
import { eventually, startInstance, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { WAIT, signIn } from '../support/chat-page.ts';
import { privateConversation, send as sendApi, type TestUser } from '../support/factories.ts';
import { FakePushService, type FakeSubscription } from '../fakes/push-service.ts';

describe.skipIf(!hasChromium())('notifications in chromium', () => {
  let instance: TestInstance;
  let url: string;
  let vapidKey: string | undefined;
  const fake = new FakePushService(() => vapidKey);
  let alice: TestUser;
  let bob: TestUser;
  let bobBrowser: Person;
  /** Bob's second browser, a phone, for the push test. */
  let phone: Person | undefined;

  beforeAll(async () => {
    await fake.start();
    [instance, bobBrowser] = await Promise.all([startInstance('pglite', { PUSH_ALLOW_LOOPBACK_HTTP: 'true' }), launchPerson()]);
    url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
    [alice, bob] = [await instance.user('alice'), await instance.user('bob')];
    vapidKey = (await instance.request('GET', '/v1/push/vapid-public-key', { token: alice.token })).body.public_key;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([bobBrowser?.close(), phone?.close()]);
    await instance?.close();
    await fake.stop();
  });

  test('counts messages in the tab title and chimes while the window is in the background', async () => {
    const page = bobBrowser.page;
    // Counts the tones the page schedules (the browser's own API, watched from outside the client).
    await page.addInitScript(
      '(() => { const start = OscillatorNode.prototype.start; window.tones = 0; OscillatorNode.prototype.start = function (...a) { window.tones++; return start.apply(this, a); }; })()',
    );
    const id = await privateConversation(instance, alice, bob);
    await signIn(page, url, bob.username);
    await page.click('#me-name'); // a gesture, so that the page may play sound
    expect(await page.title()).toBe('Chat4All');

    // Another tab in front: this one keeps running, unfocused (focus emulation would keep it "focused").
    const cdp = await bobBrowser.context.newCDPSession(page);
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
    const other = await bobBrowser.context.newPage();
    await other.bringToFront();
    await expect.poll(() => page.evaluate('document.hasFocus()')).toBe(false);

    for (const text of ['one', 'two', 'three']) await sendApi(instance, alice.token, id, text);
    await expect.poll(() => page.title(), WAIT).toBe('(3) Chat4All');
    expect(await page.evaluate('window.tones')).toBeGreaterThan(0);

    // Back in front: the title counts conversations with unread messages again.
    await other.close();
    await page.bringToFront();
    await page.evaluate('window.dispatchEvent(new Event("focus"))').catch(() => undefined);
    await expect.poll(() => page.title(), WAIT).toBe('(1) Chat4All');
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: true });
  }, 90_000);

  test('the bell registers the service worker and the push subscription; a push shows a notification; off removes it', async () => {
    const browser = (phone = await launchPerson({ width: 390, height: 844 }));
    const page = browser.page;
    const sub = fake.subscribe();
    await stubPushManager(page, sub);
    await signIn(page, url, bob.username);
    const bell = page.locator('#notify-button');
    await expect.poll(() => bell.getAttribute('data-state'), WAIT).toBe('off');
    expect(await instance.query('SELECT 1 FROM push_subscriptions WHERE user_id = $1', [bob.id])).toEqual([]);
    // The person allows notifications when the click asks (headless chromium cannot show the prompt).
    await browser.context.grantPermissions(['notifications'], { origin: new URL(url).origin });
    await bell.click();
    await expect.poll(() => bell.getAttribute('aria-pressed'), WAIT).toBe('true');
    await screenshot(page, 'notifications-on');

    const registration = (await page.evaluate('navigator.serviceWorker.ready.then((r) => ({ scope: r.scope, script: r.active && r.active.scriptURL }))')) as {
      scope: string;
      script: string;
    };
    expect(registration).toEqual({ scope: url, script: `${url}sw.js` });
    const stored = await instance.query('SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1', [bob.id]);
    expect(stored).toEqual([{ endpoint: sub.endpoint, p256dh: sub.json.keys.p256dh, auth: sub.json.keys.auth }]);

    // Bob closes his tabs (this one and the first test's): his next message arrives as a push, encrypted for the browser's key.
    await Promise.all([page.goto('about:blank'), bobBrowser.page.goto('about:blank')]);
    await eventually(async () => (await instance.app.live.onlineAmong([bob.id])).size === 0);
    const id = await privateConversation(instance, alice, bob);
    const sent = await sendApi(instance, alice.token, id, 'are you there?');
    const delivery = await eventually(() => fake.deliveriesTo(sub).find((d) => d.message.seq === sent.seq), 15_000);
    expect(delivery.message).toMatchObject({ conversation_id: id, sender_name: alice.username, preview: 'are you there?' });

    // The service worker shows it (the push handed over as the browser would).
    await page.goto(url);
    await page.waitForSelector('#connection[data-state="online"]', WAIT);
    const cdp = await browser.context.newCDPSession(page);
    const registrationId = await serviceWorkerRegistrationId(cdp, url);
    // None shown before the push. Reading the list first also matters to chromium: a first
    // getNotifications() racing the first showNotification() loses the notification (seen 3 runs in 4).
    expect(await page.evaluate('navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.length)')).toBe(0);
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: new URL(url).origin, registrationId, data: JSON.stringify(delivery.message) });
    await expect
      .poll(
        () =>
          page.evaluate(
            'navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.map((n) => ({ title: n.title, body: n.body, tag: n.tag })))',
          ),
        WAIT,
      )
      .toEqual([{ title: alice.username, body: 'are you there?', tag: `conversation-${id}` }]);

    // Turning it off removes the subscription from the server.
    await page.locator('#notify-button').click();
    await expect.poll(() => page.locator('#notify-button').getAttribute('aria-pressed'), WAIT).toBe('false');
    expect(await instance.query('SELECT 1 FROM push_subscriptions WHERE user_id = $1', [bob.id])).toEqual([]);
    expect(browser.errors).toEqual([]);
  }, 120_000);
});

/**
 * Replaces PushManager's subscribe and getSubscription with a subscription of the fake push
 * service (its keys made in Node), since headless chromium has no push service of its own.
 */
async function stubPushManager(page: Page, sub: FakeSubscription): Promise<void> {
  await page.addInitScript((json: FakeSubscription['json']) => {
    const w = globalThis as unknown as { PushManager: { prototype: Record<string, unknown> }; atob(s: string): string };
    let current: unknown = null;
    const make = (key: ArrayBuffer) => ({
      endpoint: json.endpoint,
      options: { applicationServerKey: key, userVisibleOnly: true },
      toJSON: () => json,
      unsubscribe: async () => ((current = null), true),
    });
    w.PushManager.prototype.getSubscription = async () => current;
    w.PushManager.prototype.subscribe = async (options: { applicationServerKey: Uint8Array }) =>
      (current = make(new Uint8Array(options.applicationServerKey).buffer));
  }, sub.json);
}

async function serviceWorkerRegistrationId(cdp: CDPSession, url: string): Promise<string> {
  const found = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] }) => {
      const r = e.registrations.find((x) => x.scopeURL === url && !x.isDeleted);
      if (r) resolve(r.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  return found;
}
