/**
 * Typing and online indicators in Debian's chromium with three people. Needs the `typing` action
 * and frame, `presence` frames and GET /v1/users/{id}/presence of issue 16.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startInstance, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { WAIT, signIn } from '../support/chat-page.ts';
import { groupConversation, privateConversation, type TestUser } from '../support/factories.ts';

describe.skipIf(!hasChromium())('typing and presence in chromium', () => {
  let instance: TestInstance;
  let url: string;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let a: Person;
  let b: Person;
  let c: Person;

  beforeAll(async () => {
    [instance, a, b, c] = await Promise.all([startInstance('pglite'), launchPerson(), launchPerson(), launchPerson({ width: 390, height: 844 })]);
    url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
    [alice, bob, carol] = [await instance.user('alice'), await instance.user('bob'), await instance.user('carol')];
    await Promise.all([signIn(a.page, url, alice.username), signIn(b.page, url, bob.username), signIn(c.page, url, carol.username)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b, c].filter(Boolean).map((p) => p.close()));
    await instance?.close();
  });

  test('a private chat shows online, "typing…" while the other person writes, and last seen after they leave', async () => {
    const id = await privateConversation(instance, alice, bob);
    await Promise.all([a.page.goto(`${url}#/c/${id}`), b.page.goto(`${url}#/c/${id}`)]);
    await expect.poll(() => a.page.textContent('#chat-subtitle'), WAIT).toBe('online');

    const frames: string[] = [];
    b.page.on('websocket', (ws) => ws.on('framesent', (f) => frames.push(String(f.payload))));
    await b.page.reload();
    await b.page.waitForSelector('#connection[data-state="online"]', WAIT);
    // Many keystrokes, few frames: the client throttles.
    await b.page.locator('#composer-input').pressSequentially('Just a moment, I am checking', { delay: 40 });
    await expect.poll(() => a.page.textContent('#chat-subtitle'), WAIT).toBe('typing…');
    await screenshot(a.page, 'typing-private');
    const typingFrames = frames.filter((f) => f.includes('"typing"'));
    expect(typingFrames.length).toBeGreaterThanOrEqual(1);
    expect(typingFrames.length).toBeLessThanOrEqual(2);
    expect(JSON.parse(typingFrames[0])).toEqual({ action: 'typing', conversation_id: id });
    // Bob stops typing: the indicator ends when its `until` passes.
    await expect.poll(() => a.page.textContent('#chat-subtitle'), { timeout: 15_000 }).toBe('online');

    // Bob closes the app: Alice sees when he was last there.
    await b.page.goto('about:blank');
    await expect.poll(() => a.page.textContent('#chat-subtitle'), { timeout: 15_000 }).toMatch(/^last seen /);
    await b.page.goto(url); // still signed in
    await b.page.waitForSelector('#connection[data-state="online"]', WAIT);
    await expect.poll(() => a.page.textContent('#chat-subtitle'), { timeout: 15_000 }).toBe('online');
  }, 90_000);

  test('a group names who is typing, also on a phone; a sent message ends the indicator', async () => {
    const id = await groupConversation(instance, alice, [bob, carol], 'Book club');
    await Promise.all([a.page.goto(`${url}#/c/${id}`), c.page.goto(`${url}#/c/${id}`)]);
    await c.page.waitForSelector('#chat-title >> text=Book club', WAIT);
    await a.page.locator('#composer-input').pressSequentially('I finished the book', { delay: 30 });
    await expect.poll(() => c.page.textContent('#chat-subtitle'), WAIT).toBe(`${alice.username} is typing…`);
    await screenshot(c.page, 'phone-typing-group');
    await a.page.press('#composer-input', 'Enter');
    await c.page.waitForSelector('#messages .msg >> text=I finished the book', WAIT);
    await expect.poll(() => c.page.textContent('#chat-subtitle'), WAIT).toContain('3 members');
    for (const p of [a, b, c]) expect(p.errors).toEqual([]);
  }, 60_000);
});
