/**
 * Channel conversations in the web client, in chromium: a person writes on Telegram (a signed
 * webhook, as Telegram would post it) and the agent sees the conversation with the platform's
 * badge and the person's name, and answers; on WhatsApp the agent sees the 24 h reply window, a
 * free-form reply after it closed is refused with the server's reason, and a template goes out.
 * No platform is reached: every channel is a mock (no tokens), but webhooks are verified.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startInstance, uuid, type TestInstance } from '../support/harness.ts';
import { hasChromium, launchPerson, screenshot, type Person } from '../support/browser.ts';
import { WAIT, focusedId, openConversationId, send, signIn, statusOf, texts } from '../support/chat-page.ts';
import { postTelegramUpdate, telegramTextUpdate } from '../fakes/telegram.ts';
import { postMetaWebhook, whatsappMessageWebhook } from '../fakes/meta-webhooks.ts';

const TELEGRAM_SECRET = 's3cret';
const META_SECRET = 'meta-app-secret';
const HOUR = 3_600_000;
const business = { phoneNumberId: '106540352242922' };
const ada = { id: 424242, first_name: 'Ada', last_name: 'Lovelace' };

describe.skipIf(!hasChromium())('channel conversations in the web client', () => {
  let instance: TestInstance;
  let url: string;
  let agent: Person;
  let updateId = 9000;

  const fromAda = async (text: string) => {
    updateId++;
    const res = await postTelegramUpdate(`${url}v1/webhooks/telegram`, telegramTextUpdate({ updateId, messageId: updateId, from: ada, text }), TELEGRAM_SECRET);
    expect(res.status).toBe(200);
  };
  const fromWhatsApp = async (from: string, name: string, text: string, ageMs: number) => {
    const payload = whatsappMessageWebhook(business, {
      wamid: `wamid.${uuid()}`,
      from,
      name,
      timestampMs: Date.now() - ageMs,
      content: { type: 'text', body: text },
    });
    const res = await postMetaWebhook(`${url}v1/webhooks/whatsapp`, payload, META_SECRET);
    expect(res.status).toBe(200);
  };
  const conversationItem = (name: string) => agent.page.locator('.conv', { has: agent.page.locator('.conv-title', { hasText: name }) });

  beforeAll(async () => {
    [instance, agent] = await Promise.all([
      startInstance('pglite', { TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET, META_APP_SECRET: META_SECRET, CHANNEL_AGENTS: 'user1' }),
      launchPerson(),
    ]);
    url = instance.url.endsWith('/') ? instance.url : `${instance.url}/`;
    await signIn(agent.page, url, 'user1');
  });

  afterAll(async () => {
    await agent?.close();
    await instance?.close();
  });

  test('a Telegram contact writes: the agent sees the badge and their name, and the reply goes back to Telegram', async () => {
    const page = agent.page;
    await fromAda('Hello, is my order on its way?');

    // Live: the new conversation shows up while the agent looks at the list.
    const item = conversationItem('Ada Lovelace');
    await item.waitFor(WAIT);
    expect(await item.locator('.channel-badge').textContent()).toBe('Telegram');
    expect(await item.locator('.conv-preview').textContent()).toBe('Hello, is my order on its way?');

    await item.click();
    await page.waitForSelector('#messages .msg.in', WAIT);
    expect(await page.textContent('#chat-title')).toBe('Ada Lovelace');
    expect(await page.textContent('#chat-channel')).toBe('Telegram');
    expect(await page.textContent('#chat-subtitle')).toContain(String(ada.id));
    // Telegram has no reply window.
    expect(await page.isVisible('#channel-window')).toBe(false);
    expect(await page.locator('#messages .msg.in .sender').allTextContents()).toEqual(['Ada Lovelace']);

    await send(page, 'Yes, it ships today.');
    await expect.poll(() => statusOf(page, 'Yes, it ships today.'), WAIT).toMatch(/^(accepted|sent|delivered|read)$/);
    expect(await page.locator('#messages .msg-problem').count()).toBe(0);
    // The reply is addressed to the contact's platform without the client naming it.
    const messageId = await page.locator('#messages .msg.out', { hasText: 'Yes, it ships today.' }).getAttribute('data-message-id');
    const token = await instance.login('user1');
    const stored = await instance.request('GET', `/v1/messages/${messageId}`, { token });
    expect(stored.status).toBe(200);
    expect(stored.body.statuses.channels.map((c: { channel: string }) => c.channel)).toEqual(['telegram']);

    // A second message from Ada arrives over the WebSocket into the same conversation.
    const conversationId = await openConversationId(page);
    await fromAda('Great, thank you!');
    await page.waitForSelector('#messages .msg.in >> text=Great, thank you!', WAIT);
    expect(await openConversationId(page)).toBe(conversationId);
    await expect.poll(() => page.textContent('#announcer'), WAIT).toBe('Ada Lovelace: Great, thank you!');
    expect(await page.locator('.conv', { hasText: 'Ada Lovelace' }).count()).toBe(1);
    // Her name heads each run of her messages (the agent's reply came in between).
    expect(await page.locator('#messages .msg.in .sender').allTextContents()).toEqual(['Ada Lovelace', 'Ada Lovelace']);
    await screenshot(page, '10-telegram-conversation');

    // From history (REST) the contact's messages show the same name, and "null" nowhere.
    await page.reload();
    await page.waitForSelector('#messages .msg >> text=Great, thank you!', WAIT);
    expect(await texts(page)).toEqual(['Hello, is my order on its way?', 'Yes, it ships today.', 'Great, thank you!']);
    expect(await page.locator('#messages .msg.in .sender').allTextContents()).toEqual(['Ada Lovelace', 'Ada Lovelace']);
    expect(await page.textContent('#messages')).not.toContain('null');
    expect(await page.textContent('#conversation-list')).not.toContain('null');
  });

  test('WhatsApp: the window state shows; after 24 h a free-form reply is refused with the reason, and a template is accepted', async () => {
    const page = agent.page;
    await fromWhatsApp('15551234567', 'Grace Hopper', 'Can I still change the address?', 2 * HOUR);
    await fromWhatsApp('15557654321', 'Alan Turing', 'Did you get my documents?', 25 * HOUR);

    const grace = conversationItem('Grace Hopper');
    await grace.waitFor(WAIT);
    expect(await grace.locator('.channel-badge').textContent()).toBe('WhatsApp');
    await grace.click();
    await page.waitForSelector('#chat-title >> text=Grace Hopper', WAIT);
    await expect.poll(() => page.textContent('#channel-window'), WAIT).toMatch(/^Reply window open until /);
    expect(await page.isVisible('#template-form')).toBe(false);

    const alan = conversationItem('Alan Turing');
    await alan.click();
    await page.waitForSelector('#chat-title >> text=Alan Turing', WAIT);
    await expect.poll(() => page.textContent('#channel-window'), WAIT).toBe('Window closed — only templates can be sent');
    expect(await page.isVisible('#template-form')).toBe(true);

    // The server refuses it (422 channel-window-closed): its detail is what the agent reads.
    await send(page, 'Yes, we got them.');
    await expect.poll(() => statusOf(page, 'Yes, we got them.'), WAIT).toBe('failed');
    const problem = page.locator('#messages .msg', { hasText: 'Yes, we got them.' }).locator('.msg-problem');
    expect(await problem.textContent()).toContain('WhatsApp only accepts a template message now');
    expect(await problem.getByRole('button', { name: 'Send a template' }).count()).toBe(1);
    await expect.poll(() => page.textContent('#toast'), WAIT).toContain('WhatsApp only accepts a template message now');
    await screenshot(page, '11-whatsapp-window-closed');

    await problem.getByRole('button', { name: 'Send a template' }).click();
    expect(await focusedId(page)).toBe('template-name');
    await page.fill('#template-name', 'documents_received');
    await page.press('#template-name', 'Enter');
    const template = page.locator('#messages .msg.out', { hasText: 'documents_received' });
    await template.waitFor(WAIT);
    await expect.poll(() => template.getAttribute('data-status'), WAIT).toMatch(/^(accepted|sent|delivered|read)$/);
    expect(await template.locator('.msg-problem').count()).toBe(0);
    expect(await template.textContent()).toContain('en_US');
  });

  test('the channels panel says which channels are mocks', async () => {
    const page = agent.page;
    await expect.poll(() => page.textContent('#channels-summary'), WAIT).toBe('Channels: 4 mock');
    await page.click('#channels-summary');
    const rows = page.locator('#channel-list .channel-row');
    await expect.poll(() => rows.count(), WAIT).toBe(4);
    expect(await rows.locator('.channel-badge').allTextContents()).toEqual(expect.arrayContaining(['WhatsApp', 'Telegram', 'Messenger', 'Instagram']));
    expect(new Set(await rows.locator('.channel-mode').allTextContents())).toEqual(new Set(['Mock (nothing leaves this server)']));
    await screenshot(page, '12-channels-panel');
    expect(agent.errors).toEqual([]);
  });
});
