/**
 * Message actions in Debian's chromium: the actions menu (keyboard and long-press), replies with a
 * quote that jumps to the original, reactions, edit, delete, copy, and the message search box.
 * Needs the API of issue 16's message features (reply_to, reactions, PATCH/DELETE, search).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startInstance, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { WAIT, pageScrollWidth, scrollTimelineToTop, send, showConversationList, signIn, texts } from '../support/chat-page.ts';
import { privateConversation, groupConversation, send as sendApi, type TestUser } from '../support/factories.ts';

// By the message's own text (a reply's bubble also holds the quoted text).
const bubble = (page: Page, text: string) => page.locator('#messages .msg', { has: page.locator('p.text', { hasText: text }) });

/** Opens the actions menu of the message holding `text` with the keyboard. */
async function menuFor(page: Page, text: string) {
  const more = bubble(page, text).getByRole('button', { name: 'Message actions' });
  await more.focus();
  await page.keyboard.press('Enter');
  await page.locator('.msg-menu').waitFor(WAIT);
}

describe.skipIf(!hasChromium())('message actions and search in chromium', () => {
  let instance: TestInstance;
  let url: string;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let a: Person;
  let b: Person;
  let id: number;

  beforeAll(async () => {
    [instance, a, b] = await Promise.all([startInstance('pglite'), launchPerson(), launchPerson()]);
    url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
    [alice, bob, carol] = [await instance.user('alice'), await instance.user('bob'), await instance.user('carol')];
    id = await privateConversation(instance, alice, bob);
    // An old message, more than a page back, for the search to find and jump to.
    await sendApi(instance, bob.token, id, 'The cabin code is 4711');
    for (let n = 1; n <= 60; n++) await sendApi(instance, bob.token, id, `Filler ${n}`);
    await sendApi(instance, bob.token, id, 'Shall we book the train?');
    for (const p of [a, b]) p.page.on('dialog', (d) => d.accept());
    await a.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
    await Promise.all([signIn(a.page, url, alice.username), signIn(b.page, url, bob.username)]);
    for (const p of [a, b]) await p.page.goto(`${url}#/c/${id}`);
    await bubble(a.page, 'Shall we book the train?').waitFor(WAIT);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((p) => p.close()));
    await instance?.close();
  });

  test('the menu works with the keyboard: arrows move, Escape closes and gives focus back', async () => {
    await menuFor(a.page, 'Shall we book the train?');
    const focused = () => a.page.evaluate('document.activeElement.textContent');
    expect(await focused()).toBe('Reply');
    expect(await a.page.locator('.msg-menu [role=menuitem]', { hasText: 'Edit' }).count()).toBe(0); // not Alice's message
    await a.page.keyboard.press('ArrowDown');
    expect(await focused()).toBe('Copy');
    await a.page.keyboard.press('Escape');
    expect(await a.page.locator('.msg-menu').count()).toBe(0);
    expect(await a.page.evaluate('document.activeElement.getAttribute("aria-label")')).toBe('Message actions');
  });

  test('a reply shows the quote on both sides; clicking it shows the original', async () => {
    await menuFor(a.page, 'Shall we book the train?');
    await a.page.keyboard.press('Enter'); // Reply
    expect(await a.page.textContent('#compose-context-text')).toContain('Shall we book the train?');
    expect(await a.page.evaluate('document.activeElement.id')).toBe('composer-input');
    await send(a.page, 'Yes, the 9:15 one');
    const reply = bubble(b.page, 'Yes, the 9:15 one');
    await reply.waitFor(WAIT);
    expect(await reply.locator('.quote').textContent()).toContain('Shall we book the train?');
    await scrollTimelineToTop(b.page);
    await reply.locator('.quote').click();
    await expect.poll(() => b.page.evaluate('document.activeElement.textContent'), WAIT).toContain('Shall we book the train?');
    await screenshot(b.page, 'message-reply');
  });

  test('reactions: counts and "me" reach the other person live; a second click takes the reaction back', async () => {
    await menuFor(a.page, 'Shall we book the train?');
    await a.page.getByRole('menuitem', { name: 'React 👍' }).click();
    const chip = (p: Page) => bubble(p, 'Shall we book the train?').locator('.reaction');
    await expect.poll(() => chip(b.page).textContent(), WAIT).toBe('👍 1');
    expect(await chip(b.page).getAttribute('aria-pressed')).toBe('false');
    expect(await chip(a.page).getAttribute('aria-pressed')).toBe('true');
    await chip(b.page).click(); // Bob adds his own 👍
    await expect.poll(() => chip(a.page).textContent(), WAIT).toBe('👍 2');
    await chip(a.page).click(); // Alice takes hers back
    await expect.poll(() => chip(b.page).textContent(), WAIT).toBe('👍 1');
    expect(await chip(b.page).getAttribute('aria-pressed')).toBe('true');
  });

  test('edit shows "edited" to the other person; delete leaves a tombstone; copy puts the text on the clipboard', async () => {
    await send(a.page, 'See you at the statoin');
    await bubble(b.page, 'See you at the statoin').waitFor(WAIT);
    await menuFor(a.page, 'See you at the statoin');
    await a.page.getByRole('menuitem', { name: 'Edit' }).click();
    expect(await a.page.inputValue('#composer-input')).toBe('See you at the statoin');
    await a.page.fill('#composer-input', 'See you at the station');
    await a.page.press('#composer-input', 'Enter');
    await expect.poll(() => bubble(b.page, 'See you at the station').locator('.edited').count(), WAIT).toBe(1);
    expect(await texts(b.page)).not.toContain('See you at the statoin');

    await menuFor(a.page, 'See you at the station');
    await a.page.getByRole('menuitem', { name: 'Copy' }).click();
    await expect.poll(() => a.page.evaluate('navigator.clipboard.readText()'), WAIT).toBe('See you at the station');

    await menuFor(a.page, 'See you at the station');
    await a.page.getByRole('menuitem', { name: 'Delete' }).click();
    await expect.poll(() => texts(b.page), WAIT).toContain('This message was deleted');
    expect(await texts(b.page)).not.toContain('See you at the station');
    expect(await bubble(b.page, 'This message was deleted').getByRole('button', { name: 'Message actions' }).count()).toBe(0);
  });

  test('the search box finds an old message and shows it in context', async () => {
    await showConversationList(a.page);
    await a.page.fill('#filter-input', 'cabin code');
    const hit = a.page.locator('#search-list .hit').first();
    await hit.waitFor(WAIT);
    expect(await hit.locator('mark').allTextContents()).toEqual(expect.arrayContaining(['cabin', 'code']));
    await screenshot(a.page, 'message-search');
    await hit.click();
    await expect.poll(() => a.page.evaluate('document.activeElement.textContent'), WAIT).toContain('The cabin code is 4711');
    const el = (await bubble(a.page, 'The cabin code is 4711').boundingBox())!;
    const timeline = (await a.page.locator('#timeline').boundingBox())!;
    expect(el.y).toBeGreaterThanOrEqual(timeline.y);
    expect(el.y + el.height).toBeLessThanOrEqual(timeline.y + timeline.height);
    await a.page.fill('#filter-input', '');
  });

  test('a group admin deletes another member’s message; on a phone a long press opens the menu', async () => {
    const group = await groupConversation(instance, alice, [bob, carol], 'Climbing');
    await sendApi(instance, bob.token, group, 'Wrong group, sorry');
    await a.page.goto(`${url}#/c/${group}`);
    await menuFor(a.page, 'Wrong group, sorry');
    await a.page.getByRole('menuitem', { name: 'Delete' }).click();
    await expect.poll(() => texts(a.page), WAIT).toEqual(['This message was deleted']);

    const phone = await launchPerson({ width: 390, height: 844 });
    try {
      await signIn(phone.page, url, bob.username);
      await phone.page.goto(`${url}#/c/${id}`);
      const target = bubble(phone.page, 'Yes, the 9:15 one').locator('.bubble');
      await target.waitFor(WAIT);
      const box = (await target.boundingBox())!;
      const cdp = await phone.context.newCDPSession(phone.page);
      const point = { x: box.x + 20, y: box.y + box.height / 2 };
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
      await new Promise((r) => setTimeout(r, 700));
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      await phone.page.locator('.msg-menu').waitFor(WAIT);
      const menu = (await phone.page.locator('.msg-menu').boundingBox())!;
      expect(menu.x).toBeGreaterThanOrEqual(0);
      expect(menu.x + menu.width).toBeLessThanOrEqual(390);
      expect(await pageScrollWidth(phone.page)).toBeLessThanOrEqual(390);
      await screenshot(phone.page, 'phone-message-menu');
      expect(phone.errors).toEqual([]);
    } finally {
      await phone.close();
    }
    for (const p of [a, b]) expect(p.errors).toEqual([]);
  }, 90_000);
});
