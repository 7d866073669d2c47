/**
 * Catching up on changes after a reconnect, in Debian's chromium: edits, deletions and reactions
 * made while the client was offline reach it through `sync` with its version cursors
 * (docs/websocket.md, "Changes to messages"), without a reload and without refetching history.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page, WebSocketRoute } from 'playwright-core';
import { startInstance, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { WAIT, signIn, texts } from '../support/chat-page.ts';
import { privateConversation, send, type TestUser } from '../support/factories.ts';

const bubble = (page: Page, text: string) => page.locator('#messages .msg', { has: page.locator('p.text', { hasText: text }) });
const show = (page: Page, id: number) => page.evaluate(`location.hash = '#/c/${id}'`);

describe.skipIf(!hasChromium())('catching up on message changes after a reconnect, in chromium', () => {
  let instance: TestInstance;
  let url: string;
  let alice: TestUser;
  let bob: TestUser;
  let b: Person;
  let isOffline = false;
  const routes = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  const syncFrames: Record<string, any>[] = [];

  beforeAll(async () => {
    [instance, b] = await Promise.all([startInstance('pglite'), launchPerson()]);
    url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
    [alice, bob] = [await instance.user('alice'), await instance.user('bob')];
    // Bob's link to /ws passes through here, so the test can cut it and refuse new ones (offline).
    await b.page.routeWebSocket(/\/ws/, (ws) => {
      if (isOffline) return ws.close();
      const server = ws.connectToServer();
      const route = { page: ws, server };
      routes.add(route);
      ws.onMessage((m) => {
        const frame = JSON.parse(String(m));
        if (frame.action === 'sync') syncFrames.push(frame);
        server.send(m);
      });
      ws.onClose(() => routes.delete(route));
    });
    await signIn(b.page, url, bob.username);
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await instance?.close();
  });

  test('Bob goes offline, Alice edits, reacts to and deletes messages; Bob reconnects without a reload and sees all three', async () => {
    const id = await privateConversation(instance, alice, bob);
    const other = await privateConversation(instance, bob, await instance.user('carol'));
    const typo = await send(instance, alice.token, id, 'Dinner at 8 at the Lnden');
    const question = await send(instance, alice.token, id, 'Can you bring the wine?');
    const oops = await send(instance, alice.token, id, 'Wrong chat, ignore this');
    await show(b.page, id);
    await bubble(b.page, 'Wrong chat, ignore this').waitFor(WAIT);
    // Bob moves to another chat: the reconnect refetches the open chat's newest page, so the
    // changed messages are ones Bob holds but that nothing refetches; only `sync` can tell him.
    await show(b.page, other);
    await b.page.evaluate("window.marker = 'same page'");

    isOffline = true;
    await b.context.setOffline(true);
    for (const r of [...routes]) {
      await r.server.close();
      await r.page.close();
    }
    await b.page.waitForSelector('#connection[data-state="offline"]', WAIT);

    const change = (method: string, path: string, body?: unknown) => instance.request(method, path, { token: alice.token, body });
    expect((await change('PATCH', `/v1/messages/${typo.message_id}`, { payload: { type: 'text', content: 'Dinner at 8 at the Linden' } })).status).toBe(200);
    expect((await change('PUT', `/v1/messages/${question.message_id}/reactions/${encodeURIComponent('🍷')}`)).status).toBe(200);
    expect((await change('DELETE', `/v1/messages/${oops.message_id}`)).status).toBe(200);

    const before = syncFrames.length;
    isOffline = false;
    await b.context.setOffline(false);
    await b.page.waitForSelector('#connection[data-state="online"]', { timeout: 20_000 });
    await expect.poll(() => syncFrames.length, WAIT).toBeGreaterThan(before);
    // The cursor Bob kept: the conversation had no changes when he loaded it.
    expect(syncFrames.at(-1)).toMatchObject({ action: 'sync', versions: { [id]: 0 } });

    await show(b.page, id);
    await expect.poll(() => bubble(b.page, 'Dinner at 8 at the Linden').locator('.edited').count(), WAIT).toBe(1);
    await expect.poll(() => bubble(b.page, 'Can you bring the wine?').locator('.reaction').textContent(), WAIT).toBe('🍷 1');
    expect(await bubble(b.page, 'Can you bring the wine?').locator('.reaction').getAttribute('aria-pressed')).toBe('false');
    expect(await texts(b.page)).toEqual(['Dinner at 8 at the Linden', 'Can you bring the wine?', 'This message was deleted']);
    await screenshot(b.page, 'reconnect-changes');
    expect(await b.page.evaluate('window.marker')).toBe('same page');

    // The cursor moved with what the sync brought: a later reconnect asks only for newer changes.
    for (const r of [...routes]) await r.page.close();
    await expect.poll(() => syncFrames.at(-1)?.versions?.[id], { timeout: 20_000 }).toBe(3);
    expect(b.errors).toEqual([]);
  }, 90_000);
});
