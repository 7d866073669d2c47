/**
 * Browser helpers for the e2e suites: Debian's chromium driven by playwright-core (never a
 * downloaded browser), one persistent profile per simulated person.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { isCi } from './stores.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = new URL('../../test-artifacts/screenshots/', import.meta.url).pathname;

/** Whether the browser suites can run; under CI=true a missing chromium is a failure, never a skip. */
export function hasChromium(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (isCi) throw new Error(`CI=true but ${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
  console.warn(`[chat4all tests] browser suites skipped: ${CHROMIUM_PATH} is missing (apt-get install -y chromium)`);
  return false;
}

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Browser-side errors (uncaught exceptions, CSP violations), so a test can assert there were none. */
  errors: string[];
  close(): Promise<void>;
}

/** Starts a fresh browser profile (its own localStorage: one signed-in user each). */
export async function launchPerson(viewport = { width: 1280, height: 800 }): Promise<Person> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'chat4all-browser-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    acceptDownloads: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Content-Security-Policy violations only show up in the console.
  page.on('console', (m) => m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()) && errors.push(m.text()));
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a PNG of the page as a CI artifact (test-artifacts/screenshots/<name>.png). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}
