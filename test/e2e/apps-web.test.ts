/**
 * Settings → Apps in a real browser: create an app (the key is shown once and works against the
 * API), list it, rotate its key (the grace period is shown), delete it (its keys stop at once).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startInstance, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { WAIT, signIn } from '../support/chat-page.ts';

describe.skipIf(!hasChromium())('apps settings in chromium', () => {
  let instance: TestInstance;
  let person: Person;
  let url: string;

  beforeAll(async () => {
    [instance, person] = await Promise.all([startInstance('pglite', { APP_KEY_ROTATION_GRACE_SECONDS: '7200' }), launchPerson()]);
    url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
  });
  afterAll(async () => {
    await person?.close();
    await instance?.close();
  });

  const keyShown = async () => (await person.page.textContent('#app-key-value'))!.trim();
  const works = async (key: string) => (await instance.request('GET', '/v1/conversations', { headers: { 'x-api-key': key } })).status;

  test('create shows the key once; rotate keeps the old key for the grace period; delete stops every key', async () => {
    const { page } = person;
    await signIn(page, url, 'user2');
    await page.click('#settings-button');
    await page.waitForSelector('#app-list-empty:not([hidden])', WAIT);

    await page.fill('#app-name', 'Helpdesk sync');
    await page.check('input[name=scope][value="conversations:read"]');
    await page.click('#app-create');
    await page.waitForSelector('#app-key-once:not([hidden]) #app-key-value', WAIT);
    const first = await keyShown();
    expect(first).toMatch(/^c4a_[A-Za-z0-9_-]{43}$/);
    expect(await works(first)).toBe(200);
    const row = page.locator('.app-row', { hasText: 'Helpdesk sync' });
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain('conversations:read');
    // The list shows a prefix, never the key.
    expect(await page.textContent('#app-list')).not.toContain(first);
    await screenshot(page, 'settings-apps');

    // Shown once: closing and reopening the settings does not show it again.
    await page.click('#settings-close');
    await page.click('#settings-button');
    await row.waitFor(WAIT);
    expect(await page.textContent('#app-list')).not.toContain(first);

    await row.getByRole('button', { name: 'Rotate key' }).click();
    await expect.poll(keyShown, WAIT).not.toBe(first);
    const second = await keyShown();
    expect(await page.textContent('#app-key-once')).toContain('keeps working for 2 h');
    expect(await works(second)).toBe(200);
    expect(await works(first)).toBe(200);
    await expect.poll(() => row.locator('.app-keys li').count(), WAIT).toBe(2);

    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.waitForSelector('#app-list-empty:not([hidden])', WAIT);
    expect(await works(first)).toBe(401);
    expect(await works(second)).toBe(401);

    // Bad input is shown, nothing is created.
    await page.fill('#app-name', '   ');
    await page.click('#app-create');
    await expect.poll(() => page.textContent('#app-error'), WAIT).toContain('/name');
    expect((await instance.request('GET', '/v1/apps', { token: await instance.login('user2') })).body.items).toEqual([]);
    expect(person.errors).toEqual([]);
  }, 120_000);
});
