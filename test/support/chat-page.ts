/**
 * Drives and probes the web client's page (selectors live here, not in every test). The callbacks
 * passed to page.evaluate run in the browser; the project compiles without the DOM library (server
 * code must not see browser globals), so this module declares just what they touch.
 */
import type { Page } from 'playwright-core';

interface PageElement {
  id: string;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  value: number;
  complete: boolean;
  naturalWidth: number;
  querySelector(selector: string): PageElement | null;
  scrollTo(options: { top: number }): void;
}
declare const document: {
  activeElement: PageElement | null;
  documentElement: { scrollWidth: number };
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
};
declare const window: { seenStatuses: string[]; connectionStates: string[] };
declare const location: { hash: string };
declare const localStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
declare const performance: { getEntriesByType(type: 'navigation'): { loadEventEnd: number }[] };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: { subtree?: boolean; childList?: boolean; attributes?: boolean; attributeFilter?: string[] }): void;
}

export const WAIT = { timeout: 10_000 };
const SESSION_KEY = 'chat4all.session';

export async function signIn(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url);
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', 'password123');
  await page.press('#auth-password', 'Enter');
  await page.waitForSelector('#connection[data-state="online"]', WAIT);
}

/** Types a message and presses Enter. */
export async function send(page: Page, text: string): Promise<void> {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

/** Texts of the messages shown, in display order. */
export const texts = (page: Page) => page.$$eval('#messages .msg .text', (els) => els.map((e) => e.textContent ?? ''));

/** The status attribute of the bubble holding `text`. */
export const statusOf = (page: Page, text: string) => page.locator('#messages .msg', { hasText: text }).getAttribute('data-status');

/** Records every data-status the bubble holding `text` takes, in order, from now on. */
export async function watchStatuses(page: Page, text: string): Promise<() => Promise<string[]>> {
  await page.evaluate((wanted) => {
    const seen: string[] = [];
    window.seenStatuses = seen;
    const note = () => {
      const li = [...document.querySelectorAll('#messages .msg')].find((el) => el.textContent?.includes(wanted));
      const status = li?.dataset.status;
      if (status && seen.at(-1) !== status) seen.push(status);
    };
    note();
    new MutationObserver(note).observe(document.getElementById('messages')!, { subtree: true, childList: true, attributes: true });
  }, text);
  return () => page.evaluate(() => window.seenStatuses);
}

/** Records every state the connection indicator shows, in order, from now on. */
export async function watchConnection(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const states: string[] = [];
    window.connectionStates = states;
    const el = document.getElementById('connection')!;
    new MutationObserver(() => states.push(el.dataset.state ?? '')).observe(el, { attributes: true, attributeFilter: ['data-state'] });
  });
  return () => page.evaluate(() => window.connectionStates);
}

/** Milliseconds from navigation start to the end of the load event. */
export const loadTimeMs = (page: Page) => page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);

export const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id);

/** The open conversation's id, from the URL (#/c/<id>). */
export async function openConversationId(page: Page): Promise<number | undefined> {
  const match = /^#\/c\/(\d+)$/.exec(await page.evaluate(() => location.hash));
  return match ? Number(match[1]) : undefined;
}

export const showConversationList = (page: Page) => page.evaluate(() => (location.hash = '#/'));

/** Waits until an outgoing upload's progress bar reads at least `percent` (and less than 100). */
export function waitForUploadProgress(page: Page, percent: number): Promise<unknown> {
  return page.waitForFunction(
    (min) => {
      const value = document.querySelector('#messages .msg.out progress')?.value ?? 0;
      return value >= min && value < 100;
    },
    percent,
    WAIT,
  );
}

/** Waits until the incoming image bubble mentioning `name` shows a decoded image `width` pixels wide. */
export function waitForReceivedImage(page: Page, name: string, width: number): Promise<unknown> {
  return page.waitForFunction(
    ([wanted, w]) => {
      const li = [...document.querySelectorAll('#messages .msg.in')].find((el) => el.textContent?.includes(wanted));
      const img = li?.querySelector('img');
      return Boolean(img?.complete && img.naturalWidth === w);
    },
    [name, width] as const,
    WAIT,
  );
}

/** Scrolls the message timeline to its top (which asks for older messages). */
export const scrollTimelineToTop = (page: Page) => page.evaluate(() => document.getElementById('timeline')!.scrollTo({ top: 0 }));

export const pageScrollWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

export interface StoredSession {
  access_token: string;
  refresh_token: string;
}

export const storedSession = (page: Page): Promise<StoredSession> => page.evaluate((key) => JSON.parse(localStorage.getItem(key)!), SESSION_KEY);

/** Replaces the stored access token (e.g. with one the server rejects). */
export function setStoredAccessToken(page: Page, token: string): Promise<void> {
  return page.evaluate(
    ([key, value]) => {
      const session = JSON.parse(localStorage.getItem(key)!);
      localStorage.setItem(key, JSON.stringify({ ...session, access_token: value }));
    },
    [SESSION_KEY, token] as const,
  );
}
