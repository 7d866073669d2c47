/**
 * The web client's conversation list with long previews, group management (rename, describe, add,
 * remove, leave, roles) and messages with links and images, in Debian's chromium with three people.
 */
import { writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startInstance, uuid, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { WAIT, pageScrollWidth, signIn, statusOf } from '../support/chat-page.ts';
import { groupConversation, privateConversation, send as sendApi, type TestUser } from '../support/factories.ts';
import { noisyPng } from '../support/png.ts';

const box = async (page: Page, selector: string) => (await page.locator(selector).first().boundingBox())!;

describe.skipIf(!hasChromium())('groups, long previews, links and images in chromium', () => {
  let instance: TestInstance;
  let url: string;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  let a: Person;
  let b: Person;
  let c: Person;

  beforeAll(async () => {
    [instance, a, b, c] = await Promise.all([startInstance('pglite'), launchPerson(), launchPerson(), launchPerson()]);
    url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
    [alice, bob, carol, dave] = [await instance.user('alice'), await instance.user('bob'), await instance.user('carol'), await instance.user('dave')];
    // Every confirm() (remove, leave) is accepted, as a person clicking OK would.
    for (const p of [a, b, c]) p.page.on('dialog', (d) => d.accept());
    await Promise.all([signIn(a.page, url, alice.username), signIn(b.page, url, bob.username), signIn(c.page, url, carol.username)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b, c].filter(Boolean).map((p) => p.close()));
    await instance?.close();
  });

  test('a very long last-message preview keeps the row inside the sidebar, time and badge visible', async () => {
    const id = await privateConversation(instance, bob, alice);
    const long = `${'A very long message about the weekend plans, '.repeat(12)}${'x'.repeat(300)}`;
    const row = a.page.locator('.conv', { hasText: bob.username });
    // The layout is under test here: the row is listed before the messages arrive, so both count live.
    await expect.poll(() => row.count(), WAIT).toBe(1);
    await sendApi(instance, bob.token, id, long);
    await sendApi(instance, bob.token, id, `${'Supercalifragilistic'.repeat(20)} ${long}`);
    await expect.poll(() => row.locator('.badge').textContent(), WAIT).toBe('2');
    const sidebar = await box(a.page, '.sidebar');
    const conv = (await row.boundingBox())!;
    const time = (await row.locator('.conv-time').boundingBox())!;
    const badge = (await row.locator('.badge').boundingBox())!;
    expect(conv.width).toBeLessThanOrEqual(sidebar.width);
    for (const part of [time, badge]) {
      expect(part.width).toBeGreaterThan(0);
      expect(part.x + part.width).toBeLessThanOrEqual(conv.x + conv.width);
    }
    await screenshot(a.page, 'list-long-preview');

    // The same on a phone.
    const phone = await a.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(url);
    const phoneRow = phone.locator('.conv', { hasText: bob.username });
    await phoneRow.locator('.badge').waitFor(WAIT);
    const phoneBadge = (await phoneRow.locator('.badge').boundingBox())!;
    expect(phoneBadge.x + phoneBadge.width).toBeLessThanOrEqual(390);
    expect(await pageScrollWidth(phone)).toBeLessThanOrEqual(390);
    await screenshot(phone, 'phone-list-long-preview');
    await phone.close();
  });

  test('owners and admins rename, describe, add and remove; members see roles; anyone leaves', async () => {
    const id = await groupConversation(instance, alice, [bob, carol], 'Trip');
    // Bob is an admin (set through the API here; the next test changes roles in the client).
    expect((await instance.request('PATCH', `/v1/conversations/${id}/members/${bob.id}`, { token: alice.token, body: { role: 'admin' } })).status).toBe(200);
    for (const p of [a, b, c]) await p.page.goto(`${url}#/c/${id}`);
    await a.page.waitForSelector('#chat-title >> text=Trip', WAIT);

    // Alice, the owner, opens the group info with the keyboard and renames the group.
    await a.page.focus('#group-info-button');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#group-dialog[open]', WAIT);
    expect(await a.page.evaluate('document.activeElement.id')).toBe('group-edit-name');
    const roles = () =>
      a.page.$$eval('#group-member-list .member', (els) => els.map((e) => `${e.querySelector('strong')?.textContent}:${e.getAttribute('data-role')}`));
    expect(await roles()).toEqual([`${alice.username} (you):owner`, `${bob.username}:admin`, `${carol.username}:member`]);
    expect(await a.page.locator('#group-member-list .role').allTextContents()).toEqual(['Owner', 'Admin']);
    await a.page.fill('#group-edit-name', 'Trip to the Alps');
    await a.page.fill('#group-edit-description', 'Bring boots and a warm jacket');
    await a.page.click('#group-save');
    // Everyone sees the new name live (conversation.updated).
    for (const p of [b, c]) await expect.poll(() => p.page.textContent('#chat-title'), WAIT).toBe('Trip to the Alps');
    await expect.poll(() => b.page.locator('.conv .conv-title', { hasText: 'Trip to the Alps' }).count(), WAIT).toBe(1);

    // She adds Dave by searching his name.
    await a.page.fill('#group-add-search', dave.username);
    await a.page.waitForSelector(`#group-add-results .person >> text=@${dave.username}`, WAIT);
    await a.page.press('#group-add-search', 'Enter');
    await expect.poll(() => a.page.locator('#group-member-list .member').count(), WAIT).toBe(4);
    await expect.poll(() => b.page.textContent('#chat-subtitle'), WAIT).toContain('4 members');
    await screenshot(a.page, 'group-info-owner');

    // Carol, a member, sees the info read-only: no saving, adding or removing.
    await c.page.click('#group-info-button');
    await c.page.waitForSelector('#group-dialog[open]', WAIT);
    expect(await c.page.inputValue('#group-edit-description')).toBe('Bring boots and a warm jacket');
    expect(await c.page.getAttribute('#group-edit-name', 'readonly')).not.toBeNull();
    expect(await c.page.isVisible('#group-save')).toBe(false);
    expect(await c.page.isVisible('#group-add-search')).toBe(false);
    expect(await c.page.locator('#group-member-list button', { hasText: 'Remove' }).count()).toBe(0);
    await c.page.keyboard.press('Escape');
    await expect.poll(() => c.page.locator('#group-dialog[open]').count()).toBe(0);

    // Bob, an admin, may remove members but not the owner; he removes Carol.
    await b.page.click('#group-info-button');
    await b.page.waitForSelector('#group-dialog[open]', WAIT);
    const removable = await b.page.$$eval('#group-member-list button', (els) => els.map((e) => e.getAttribute('aria-label')));
    expect(removable.sort()).toEqual([`Remove ${carol.username} from the group`, `Remove ${dave.username} from the group`].sort());
    await b.page.click(`#group-member-list button[aria-label="Remove ${carol.username} from the group"]`);
    await expect.poll(() => b.page.locator('#group-member-list .member').count(), WAIT).toBe(3);
    // Carol's client drops the group and goes back to the list.
    await expect.poll(() => c.page.locator('.conv', { hasText: 'Trip to the Alps' }).count(), WAIT).toBe(0);
    await expect.poll(() => c.page.isVisible('#chat-placeholder'), WAIT).toBe(true);

    // Bob leaves.
    await b.page.click('#group-leave');
    await expect.poll(() => b.page.locator('.conv', { hasText: 'Trip to the Alps' }).count(), WAIT).toBe(0);
    await expect.poll(() => a.page.locator('#group-member-list .member').count(), WAIT).toBe(2);
    const details = await instance.request('GET', `/v1/conversations/${id}`, { token: alice.token });
    expect(details.body.members.map((m: { user_id: number }) => m.user_id).sort()).toEqual([alice.id, dave.id].sort());
    expect(details.body).toMatchObject({ name: 'Trip to the Alps', description: 'Bring boots and a warm jacket' });

    // On a phone the dialog fits the screen.
    await a.page.keyboard.press('Escape');
    await a.page.setViewportSize({ width: 390, height: 844 });
    await a.page.click('#group-info-button');
    await a.page.waitForSelector('#group-dialog[open]', WAIT);
    expect(await pageScrollWidth(a.page)).toBeLessThanOrEqual(390);
    const dialog = await box(a.page, '#group-dialog');
    expect(dialog.x).toBeGreaterThanOrEqual(0);
    expect(dialog.x + dialog.width).toBeLessThanOrEqual(390);
    await screenshot(a.page, 'phone-group-info');
    await a.page.keyboard.press('Escape');
    await a.page.setViewportSize({ width: 1280, height: 800 });
    for (const p of [a, b, c]) expect(p.errors).toEqual([]);
  }, 90_000);

  test('the owner makes a member an admin and takes it back; the member sees the role change live', async () => {
    const id = await groupConversation(instance, alice, [bob, carol], 'Choir');
    for (const p of [a, c]) await p.page.goto(`${url}#/c/${id}`);
    await a.page.waitForSelector('#chat-title >> text=Choir', WAIT);
    await c.page.click('#group-info-button');
    await c.page.waitForSelector('#group-dialog[open]', WAIT);
    // Carol, a member, has no role buttons and cannot remove anyone.
    expect(await c.page.locator('#group-member-list button').count()).toBe(0);

    await a.page.click('#group-info-button');
    await a.page.waitForSelector('#group-dialog[open]', WAIT);
    const make = a.page.getByRole('button', { name: `Make ${carol.username} an admin` });
    expect(await a.page.getByRole('button', { name: /^Make .* an admin$/ }).count()).toBe(2); // Bob and Carol, not Alice herself
    await make.focus();
    await a.page.keyboard.press('Enter');
    const roleOf = (page: Page, u: TestUser) => page.getAttribute(`#group-member-list .member[data-user-id="${u.id}"]`, 'data-role');
    await expect.poll(() => roleOf(a.page, carol), WAIT).toBe('admin');
    // The keyboard stays on Carol's row, now offering the way back.
    expect(await a.page.evaluate('document.activeElement.getAttribute("aria-label")')).toBe(`Remove ${carol.username} as admin`);
    // Carol's open dialog follows (member.role_changed): she is an admin and may now remove Bob.
    await expect.poll(() => roleOf(c.page, carol), WAIT).toBe('admin');
    await expect.poll(() => c.page.locator(`#group-member-list button[aria-label="Remove ${bob.username} from the group"]`).count(), WAIT).toBe(1);
    expect((await instance.query('SELECT role FROM members WHERE conversation_id = $1 AND user_id = $2', [id, carol.id]))[0].role).toBe('admin');
    await screenshot(a.page, 'group-roles-owner');

    await a.page.keyboard.press('Enter'); // Remove admin
    await expect.poll(() => roleOf(a.page, carol), WAIT).toBe('member');
    await expect.poll(() => roleOf(c.page, carol), WAIT).toBe('member');
    await expect.poll(() => c.page.locator('#group-member-list button').count(), WAIT).toBe(0);
    for (const p of [a, c]) await p.page.keyboard.press('Escape');
    for (const p of [a, b, c]) expect(p.errors).toEqual([]);
  }, 60_000);

  test('links open safely in a new tab; javascript: stays text; an image opens in a viewer that Escape closes', async () => {
    const id = await privateConversation(instance, bob, alice);
    await sendApi(instance, bob.token, id, 'Map: https://example.com/route?day=1&x=2, mail mailto:guide@example.com or javascript:alert(1) (http://x.test/a).');
    await a.page.goto(`${url}#/c/${id}`);
    const bubble = a.page.locator('#messages .msg.in', { hasText: 'Map:' });
    await bubble.waitFor(WAIT);
    const links = await bubble
      .locator('a')
      .evaluateAll((els) =>
        els.map((e) => ({ href: e.getAttribute('href'), text: e.textContent, target: e.getAttribute('target'), rel: e.getAttribute('rel') })),
      );
    expect(links).toEqual([
      { href: 'https://example.com/route?day=1&x=2', text: 'https://example.com/route?day=1&x=2', target: '_blank', rel: 'noopener noreferrer' },
      { href: 'mailto:guide@example.com', text: 'mailto:guide@example.com', target: '_blank', rel: 'noopener noreferrer' },
      { href: 'http://x.test/a', text: 'http://x.test/a', target: '_blank', rel: 'noopener noreferrer' },
    ]);
    expect(await bubble.locator('.text').textContent()).toContain('javascript:alert(1) (http://x.test/a).');

    // Alice sends a photo; Bob opens it in the viewer.
    const file = path.join(os.tmpdir(), `chat4all-view-${uuid().slice(0, 8)}.png`);
    await writeFile(file, noisyPng(320, 200));
    await a.page.setInputFiles('#file-input', file);
    await expect.poll(() => statusOf(a.page, path.basename(file)), WAIT).toMatch(/^(sent|delivered|read)$/);
    await b.page.goto(`${url}#/c/${id}`);
    const open = b.page.getByRole('button', { name: `View ${path.basename(file)}` });
    await open.waitFor(WAIT);
    // Polled with page.evaluate: waitForFunction re-evaluates a string predicate with eval() while
    // it polls, which the page's CSP (script-src 'self') refuses.
    await expect
      .poll(
        () =>
          b.page.evaluate(
            `(() => { const img = document.querySelector('.preview-open img'); return Boolean(img && img.complete && img.naturalWidth === 320); })()`,
          ),
        WAIT,
      )
      .toBe(true);
    await open.focus();
    await b.page.keyboard.press('Enter');
    const viewer = b.page.locator('dialog.viewer[open] img');
    await viewer.waitFor(WAIT);
    expect(await b.page.evaluate(`document.querySelector('dialog.viewer img').naturalWidth`)).toBe(320);
    await screenshot(b.page, 'image-viewer');
    await b.page.keyboard.press('Escape');
    await expect.poll(() => b.page.locator('dialog.viewer').count(), WAIT).toBe(0);
    expect(await b.page.evaluate('document.activeElement.getAttribute("aria-label")')).toBe(`View ${path.basename(file)}`);
    await rm(file, { force: true });
    for (const p of [a, b]) expect(p.errors).toEqual([]);
  }, 90_000);
});
