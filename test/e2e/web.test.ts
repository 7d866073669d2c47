/**
 * The web client in a real browser: Debian's chromium, one profile per person, against an
 * in-process instance on PGlite. Screenshots of the main screens go to test-artifacts/screenshots/.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startInstance, uuid, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { noisyPng } from '../support/png.ts';
import {
  WAIT,
  focusedId,
  loadTimeMs,
  openConversationId,
  pageScrollWidth,
  scrollTimelineToTop,
  send,
  setStoredAccessToken,
  showConversationList,
  signIn,
  statusOf,
  storedSession,
  texts,
  waitForReceivedImage,
  waitForUploadProgress,
  watchConnection,
  watchStatuses,
} from '../support/chat-page.ts';

const WEB_DIR = new URL('../../web/', import.meta.url).pathname;
const HISTORY = 55;

/** Earlier chats of user1 with user4 and user5 (one unread), so the list looks lived in. */
async function seedOtherChats(instance: TestInstance): Promise<void> {
  const [t1, t4, t5] = await Promise.all(['user1', 'user4', 'user5'].map((u) => instance.login(u)));
  const me = (await instance.request('GET', '/auth/me', { token: t1 })).body.user_id as number;
  const say = async (token: string, conversationId: number, content: string) => {
    const res = await instance.request('POST', '/v1/messages', {
      token,
      body: { message_id: uuid(), conversation_id: conversationId, payload: { type: 'text', content } },
    });
    expect(res.status).toBe(202);
  };
  const lunch = (await instance.request('POST', '/v1/conversations', { token: t4, body: { type: 'private', member_ids: [me] } })).body
    .conversation_id as number;
  // A long history: more than two pages of 50.
  for (let n = 1; n <= HISTORY; n++) await say(t4, lunch, `Older message ${n}`);
  await say(t4, lunch, 'Are we still on for lunch tomorrow?');
  expect((await instance.request('POST', `/v1/conversations/${lunch}/read`, { token: t1, body: {} })).status).toBe(200);
  await say(t1, lunch, 'Yes! 12:30 at the usual place.');
  const slides = (await instance.request('POST', '/v1/conversations', { token: t5, body: { type: 'private', member_ids: [me] } })).body
    .conversation_id as number;
  await say(t5, slides, 'Here are my notes from the design review.');
  await say(t5, slides, 'Call me when you have a minute?');
}

describe.skipIf(!hasChromium())('web client in chromium', () => {
  let instance: TestInstance;
  let url: string;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  const bobName = `bob_${uuid().slice(0, 6)}`;

  beforeAll(async () => {
    [instance, alice, bob, carol] = await Promise.all([startInstance('pglite'), launchPerson(), launchPerson(), launchPerson()]);
    url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
    const started = Date.now();
    await seedOtherChats(instance);
    console.info(`[web] seeded in ${Date.now() - started} ms`);
  });

  afterAll(async () => {
    await Promise.all([alice, bob, carol].filter(Boolean).map((p) => p.close()));
    await instance?.close();
  });

  test('ships a small client that loads without failed requests, in seconds at most', async () => {
    let bytes = 0;
    for (const entry of await readdir(WEB_DIR, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) bytes += (await stat(path.join(entry.parentPath, entry.name))).size;
    }
    console.info(`[web] client size: ${bytes} bytes in web/`);
    // Raised from 150 000 for group management, links, the image viewer, message actions, search and
    // typing (issue 16), the apps and webhooks settings (issue 15) and notifications: unminified
    // sources, no build step; 190 371 bytes when raised.
    expect(bytes).toBeLessThan(200_000);

    const failed: string[] = [];
    alice.page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
    await alice.page.goto(url);
    await alice.page.waitForSelector('#auth-username:focus', WAIT);
    expect(failed).toEqual([]);
    const loadMs = await loadTimeMs(alice.page);
    console.info(`[web] first load: ${Math.round(loadMs)} ms`);
    // Alone this measures ~350 ms on the 2-core CI machine; beside the other suites it reached
    // 1.5 s. The bound catches a client gone pathologically slow; timing budgets are a benchmark matter.
    expect(loadMs).toBeLessThan(4000);
    await expect.poll(() => alice.page.textContent('#demo-hint')).toContain('password123');
    await screenshot(alice.page, '01-login');
  });

  test('signs in with the keyboard alone, and registers a new account', async () => {
    const page = alice.page;
    await page.keyboard.type('user1');
    await page.keyboard.press('Tab');
    await page.keyboard.type('password123');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#connection[data-state="online"]', WAIT);
    expect(await page.textContent('#me-name')).toBe('User 1');

    await bob.page.goto(url);
    await bob.page.click('#tab-register');
    await bob.page.fill('#auth-username', bobName);
    await bob.page.fill('#auth-display', 'Bob Chen');
    await bob.page.fill('#auth-password', 'password123');
    await bob.page.click('#auth-submit');
    await bob.page.waitForSelector('#connection[data-state="online"]', WAIT);
    expect(await bob.page.textContent('#me-name')).toBe('Bob Chen');
    // Bob closes the app: what Alice sends next can only be "sent", not yet delivered.
    await bob.page.goto('about:blank');
  });

  test('two people chat; the ticks go sent → delivered → read', async () => {
    const a = alice.page;
    await a.click('#new-chat-button');
    await a.fill('#new-chat-search', bobName);
    await a.waitForSelector('#new-chat-results .person', WAIT);
    await a.press('#new-chat-search', 'Enter');
    await a.waitForSelector('#chat-view:not([hidden])', WAIT);
    expect(await a.textContent('#chat-title')).toBe('Bob Chen');
    expect(await focusedId(a)).toBe('composer-input');

    await send(a, 'Hello Bob');
    // Optimistic: the bubble is there before the server answers.
    await a.waitForSelector('#messages .msg.out', { timeout: 1000 });
    const seen = await watchStatuses(a, 'Hello Bob');
    await expect.poll(() => statusOf(a, 'Hello Bob'), WAIT).toBe('sent');

    // Bob opens the app: the message reaches his device (delivered) while he looks at the list.
    await bob.page.goto(url);
    await bob.page.waitForSelector('#connection[data-state="online"]', WAIT);
    const item = bob.page.locator('.conv', { hasText: 'User 1' });
    await expect.poll(() => item.locator('.badge').textContent(), WAIT).toBe('1');
    expect(await item.locator('.conv-preview').textContent()).toBe('Hello Bob');
    await expect.poll(() => statusOf(a, 'Hello Bob'), WAIT).toBe('delivered');

    // Bob opens the conversation: read.
    await item.click();
    await bob.page.waitForSelector('#messages .msg.in', WAIT);
    await expect.poll(() => statusOf(a, 'Hello Bob'), WAIT).toBe('read');
    await expect.poll(() => item.locator('.badge').count(), WAIT).toBe(0);
    expect((await seen()).filter((s) => ['sent', 'delivered', 'read'].includes(s))).toEqual(['sent', 'delivered', 'read']);
    expect(await a.getAttribute('#messages .msg.out .ticks', 'aria-label')).toBe('Read');

    await send(bob.page, 'Hi Alice! Good to hear from you.');
    await a.waitForSelector('#messages .msg.in', WAIT);
    await expect.poll(() => a.textContent('#announcer'), WAIT).toContain('Hi Alice! Good to hear from you.');
    await expect.poll(() => a.locator('.conv .conv-preview').first().textContent(), WAIT).toBe('Hi Alice! Good to hear from you.');
    await send(a, 'Shall we plan the weekend?');
    await expect.poll(() => statusOf(a, 'Shall we plan the weekend?'), WAIT).toBe('read');
    await screenshot(a, '03-chat');
  });

  test('a reload mid-conversation, and a dropped connection, miss nothing and show nothing twice', async () => {
    const a = alice.page;
    const b = bob.page;
    const before = await texts(b);
    const reloading = b.reload();
    for (const n of [1, 2, 3]) await send(a, `While Bob reloads ${n}`);
    await reloading;
    await b.waitForSelector('#messages .msg >> text=While Bob reloads 3', WAIT);
    const conversationId = await openConversationId(b);
    expect(conversationId).toBeGreaterThan(0);
    await expect.poll(() => texts(b), WAIT).toEqual([...before, 'While Bob reloads 1', 'While Bob reloads 2', 'While Bob reloads 3']);

    // Every socket drops (as in a network outage); messages sent meanwhile arrive through `sync`.
    const token = await instance.login('user1');
    const connectionStates = await watchConnection(b);
    for (const socket of instance.server.websocketServer.clients) socket.terminate();
    for (const n of [1, 2]) {
      const res = await instance.request('POST', '/v1/messages', {
        token,
        body: { message_id: uuid(), conversation_id: conversationId, payload: { type: 'text', content: `During the outage ${n}` } },
      });
      expect(res.status).toBe(202);
    }
    // The indicator shows the outage, then the automatic reconnect.
    await expect.poll(async () => (await connectionStates()).at(-1), WAIT).toBe('online');
    expect(await connectionStates()).toContain('offline');
    const expected = [...before, 'While Bob reloads 1', 'While Bob reloads 2', 'While Bob reloads 3', 'During the outage 1', 'During the outage 2'];
    await expect.poll(() => texts(b), WAIT).toEqual(expected);
    await expect.poll(() => texts(a), WAIT).toEqual(expected);
    await new Promise((r) => setTimeout(r, 300));
    expect(await texts(b)).toEqual(expected);
  });

  test('a send that loses its response is retried with the same message id and shows once', async () => {
    const a = alice.page;
    // While connected the client sends over the WebSocket: the first `send` reaches the server (which
    // commits it), then the socket drops before the answer; the client retries over HTTP, same id.
    const wsIds: string[] = [];
    const bodies: string[] = [];
    await a.routeWebSocket(/\/ws/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        const frame = JSON.parse(String(m));
        if (frame.action === 'send') wsIds.push(frame.message_id);
        server.send(m);
      });
      server.onMessage((m) => {
        const frame = JSON.parse(String(m));
        // The server committed the first send; its answer is lost with the link.
        if (frame.type === 'send.ack' && frame.message_id === wsIds[0] && wsIds.length === 1) return ws.close();
        ws.send(m);
      });
    });
    await a.route('**/v1/messages', async (route) => {
      bodies.push(route.request().postData() ?? '');
      return route.continue();
    });
    await a.reload();
    await a.waitForSelector('#connection[data-state="online"]', WAIT);
    await send(a, 'Sent through a flaky network');
    await expect.poll(() => wsIds.length + bodies.length, WAIT).toBeGreaterThanOrEqual(2);
    await expect.poll(() => statusOf(a, 'Sent through a flaky network'), WAIT).toBe('read');
    await expect.poll(() => a.locator('#messages .msg-problem').count(), WAIT).toBe(0);
    await a.unroute('**/v1/messages');
    const ids = new Set([...wsIds, ...bodies.map((b) => JSON.parse(b).message_id)]);
    expect(ids.size).toBe(1);
    await expect.poll(() => texts(bob.page), WAIT).toContain('Sent through a flaky network');
    expect((await texts(bob.page)).filter((t) => t === 'Sent through a flaky network')).toHaveLength(1);
    expect((await texts(a)).filter((t) => t === 'Sent through a flaky network')).toHaveLength(1);
  });

  test('sends a file with visible progress, resumes it after a reload, and the recipient previews and downloads it', async (ctx) => {
    const token = await instance.login('user1');
    const probe = await instance.request('GET', `/v1/files/${uuid()}/status`, { token });
    if (probe.body?.code === 'route-not-found') {
      console.warn('[chat4all tests] file e2e skipped: this build has no /v1/files routes yet');
      ctx.skip();
    }
    const a = alice.page;
    await a.waitForSelector('#attach-button:not([hidden])', WAIT);
    const file = path.join(os.tmpdir(), `chat4all-photo-${uuid().slice(0, 8)}.png`);
    const png = noisyPng(1200, 900);
    await writeFile(file, png);
    const chunkRequests: string[] = [];
    a.on('request', (r) => r.url().includes('/chunks') && chunkRequests.push(r.url()));

    // A slow uplink makes the progress visible; reload in the middle of the upload.
    const cdp = await a.context().newCDPSession(a);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 500_000 });
    const chooser = a.waitForEvent('filechooser');
    await a.click('#attach-button');
    await (await chooser).setFiles(file);
    await waitForUploadProgress(a, 1);
    await waitForUploadProgress(a, 20);
    await screenshot(a, '04-file-upload');
    // Reload once some chunks are stored and others are not.
    await a.waitForResponse((r) => r.url().includes('/chunks') && r.ok(), WAIT);
    await a.reload();
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const paused = a.locator('#messages .msg.out', { hasText: 'Paused at' });
    await paused.waitFor(WAIT);
    const requestsBeforeResume = chunkRequests.length;
    const again = a.waitForEvent('filechooser');
    await paused.getByRole('button', { name: 'Resume' }).click();
    await (await again).setFiles(file);
    const bubble = a.locator('#messages .msg.out', { hasText: path.basename(file) });
    await expect.poll(() => bubble.getAttribute('data-status'), { timeout: 20_000 }).toMatch(/^(sent|delivered|read)$/);
    // Only what the server reported missing was sent again (3 chunks of 1 MiB in all).
    expect(chunkRequests.length - requestsBeforeResume).toBeLessThan(3);

    const received = bob.page.locator('#messages .msg.in', { hasText: path.basename(file) });
    await received.waitFor(WAIT);
    await waitForReceivedImage(bob.page, path.basename(file), 1200);
    const download = bob.page.waitForEvent('download');
    await received.getByRole('button', { name: /^Download/ }).click();
    const saved = await (await download).path();
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(digest(await readFile(saved))).toBe(digest(png));
    await rm(file, { force: true });
  });

  test('a group of three works', async () => {
    const a = alice.page;
    await signIn(carol.page, url, 'user3');
    await a.click('#new-group-button');
    await a.fill('#group-name', 'Weekend plans');
    for (const name of [bobName, 'user3']) {
      await a.fill('#group-search', name);
      await a.waitForSelector(`#group-results .person >> text=@${name}`, WAIT);
      await a.press('#group-search', 'Enter');
    }
    await a.click('#group-create');
    await a.waitForSelector('#chat-title >> text=Weekend plans', WAIT);
    expect(await a.textContent('#chat-subtitle')).toContain('3 members');

    for (const person of [bob, carol]) {
      await person.page.locator('.conv', { hasText: 'Weekend plans' }).click();
      await person.page.waitForSelector('#chat-title >> text=Weekend plans', WAIT);
    }
    await send(a, 'Hiking on Saturday?');
    await bob.page.waitForSelector('#messages .msg >> text=Hiking on Saturday?', WAIT);
    await send(bob.page, 'I am in!');
    await carol.page.waitForSelector('#messages .msg >> text=I am in!', WAIT);
    await send(carol.page, 'Me too, I will bring snacks.');
    const all = ['Hiking on Saturday?', 'I am in!', 'Me too, I will bring snacks.'];
    for (const person of [alice, bob, carol]) await expect.poll(() => texts(person.page), WAIT).toEqual(all);
    // Read only once both other members have read it.
    await expect.poll(() => statusOf(a, 'Hiking on Saturday?'), WAIT).toBe('read');
    expect(await carol.page.locator('#messages .msg.in .sender').allTextContents()).toEqual(['User 1', 'Bob Chen']);
    await screenshot(carol.page, '05-group');

    // Alice's list: newest activity first, with the unread chat from user5 badged.
    await showConversationList(a);
    await a.waitForSelector('#chat-placeholder:not([hidden])');
    expect(await a.locator('.conv .conv-title').allTextContents()).toEqual(['Weekend plans', 'Bob Chen', 'User 5', 'User 4']);
    expect(await a.locator('.conv', { hasText: 'User 5' }).locator('.badge').textContent()).toBe('2');
    await screenshot(a, '02-conversation-list');
  });

  test('loads older messages while scrolling up, without gaps or duplicates', async () => {
    const a = alice.page;
    await a.locator('.conv', { hasText: 'User 4' }).click();
    await a.waitForSelector('#messages .msg >> text=Yes! 12:30 at the usual place.', WAIT);
    expect((await texts(a)).length).toBeLessThanOrEqual(50);
    const all = [
      ...Array.from({ length: HISTORY }, (_, i) => `Older message ${i + 1}`),
      'Are we still on for lunch tomorrow?',
      'Yes! 12:30 at the usual place.',
    ];
    await expect
      .poll(async () => {
        await scrollTimelineToTop(a);
        return a.textContent('#history-status');
      }, WAIT)
      .toBe('This is the beginning of the conversation.');
    expect(await texts(a)).toEqual(all);
  });

  test('recovers from a rejected access token by refreshing it (HTTP 401 and WebSocket 4001)', async () => {
    const b = bob.page;
    const before = await storedSession(b);
    await setStoredAccessToken(b, 'not-a-valid-token');
    await b.reload();
    await b.waitForSelector('#connection[data-state="online"]', WAIT);
    await b.waitForSelector('.conv', WAIT);
    const after = await storedSession(b);
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect(after.access_token).not.toBe('not-a-valid-token');
    await send(b, 'Still signed in');
    await expect.poll(() => statusOf(b, 'Still signed in'), WAIT).toMatch(/^(sent|delivered|read)$/);
  });

  test('on a phone-sized screen the list and the chat are two panes that switch', async () => {
    const page = await alice.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    const started = Date.now();
    await page.goto(url);
    await page.waitForSelector('.conv', WAIT);
    console.info(`[web] signed-in load until the conversation list shows: ${Date.now() - started} ms`);
    expect(await page.isVisible('.sidebar')).toBe(true);
    expect(await page.isVisible('#chat')).toBe(false);
    await screenshot(page, '06-phone-list');

    await page.locator('.conv', { has: page.locator('.conv-title', { hasText: /^Bob Chen$/ }) }).click();
    await page.waitForSelector('#messages .msg', WAIT);
    expect(await page.isVisible('.sidebar')).toBe(false);
    expect(await page.isVisible('#back-button')).toBe(true);
    expect(await pageScrollWidth(page)).toBeLessThanOrEqual(390);
    await send(page, 'Typed on a phone');
    await expect.poll(() => statusOf(page, 'Typed on a phone'), WAIT).toMatch(/^(sent|delivered|read)$/);
    await screenshot(page, '07-phone-chat');

    await page.click('#back-button');
    await page.waitForSelector('.sidebar', { state: 'visible' });
    expect(await page.isVisible('#chat')).toBe(false);
    await page.close();
    for (const person of [alice, bob, carol]) expect(person.errors).toEqual([]);
  });
});
