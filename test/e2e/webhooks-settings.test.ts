/**
 * Settings → Webhooks in a real browser: create an endpoint pointing at a local receiver, see the
 * secret once, and see the deliveries of a message (one failed attempt retried, then success).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startInstance, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { WAIT, signIn } from '../support/chat-page.ts';
import { privateConversation, send } from '../support/factories.ts';
import { WebhookReceiver } from '../fakes/webhook-receiver.ts';

describe.skipIf(!hasChromium())('webhook settings in chromium', () => {
  let instance: TestInstance;
  let person: Person;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    [instance, person, receiver] = await Promise.all([
      startInstance('pglite', { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_POLL_MS: '50' }),
      launchPerson(),
      new WebhookReceiver().start(),
    ]);
  }, 120_000);
  afterAll(async () => {
    await person?.close();
    await receiver?.stop();
    await instance?.close();
  });

  test('creates an endpoint, shows its secret once, and lists its deliveries', async () => {
    const { page } = person;
    const url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
    const owner = await instance.user('web');
    const other = await instance.user('web');
    await signIn(page, url, owner.username);
    await page.click('#settings-button');
    await page.waitForSelector('#settings-dialog[open]', WAIT);
    await page.fill('#webhook-url', receiver.url);
    await page.check('input[name="webhook-event"][value="conversation.created"]');
    await page.click('#webhook-create');
    await page.waitForSelector('#webhook-secret:not([hidden])', WAIT);
    const secret = (await page.textContent('#webhook-secret code')) ?? '';
    expect(secret).toMatch(/^whsec_/);
    receiver.secrets = [secret];
    await page.waitForSelector(`#webhook-list li.webhook >> text=${receiver.url}`, WAIT);

    receiver.answerNext({ status: 500 });
    const conv = await privateConversation(instance, other, owner);
    await send(instance, other.token, conv, 'hello from the browser test');
    for (let i = 0; i < 200 && receiver.received.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(receiver.received.map((w) => w.event.type)).toEqual(['conversation.created', 'message.created']);
    expect(receiver.received.every((w) => w.verifiedBy[0].byHand && w.verifiedBy[0].byLibrary)).toBe(true);

    // Reopened: the secret is gone, the deliveries are listed with their attempts.
    await page.click('#settings-close');
    await page.click('#settings-button');
    await page.waitForSelector('.webhook-deliveries tbody tr:nth-child(2)', WAIT);
    const rows = await page.$$eval('.webhook-deliveries tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['message.created', 'succeeded', '200', expect.stringMatching(/^\d+ ms$/), '1', ''],
      ['conversation.created', 'succeeded', '200', expect.stringMatching(/^\d+ ms$/), '2', ''],
    ]);
    await screenshot(page, 'settings-webhooks');
    await page.reload();
    await page.waitForSelector('#connection[data-state="online"]', WAIT);
    await page.click('#settings-button');
    await page.waitForSelector('.webhook-deliveries tbody tr', WAIT);
    expect(await page.textContent('#settings-dialog')).not.toContain(secret);
    expect(person.errors).toEqual([]);
  }, 120_000);
});
