/**
 * Webhook payloads in test/fixtures/<platform>/, written after the platforms' documented
 * examples. Each file names its documentation page in `_source`, which is not part of the
 * payload and is removed here.
 */
import { readFileSync, readdirSync } from 'node:fs';

export type Platform = 'telegram' | 'whatsapp' | 'messenger' | 'instagram';

const dir = (platform: Platform) => new URL(`../fixtures/${platform}/`, import.meta.url);

/** The payload as the platform would send it (parsed JSON, without `_source`). */
export function webhookFixture(platform: Platform, name: string): Record<string, unknown> {
  const { _source, ...payload } = JSON.parse(readFileSync(new URL(`${name}.json`, dir(platform)), 'utf8'));
  if (typeof _source !== 'string' || !_source.startsWith('https://')) throw new Error(`${platform}/${name}.json needs a _source documentation URL`);
  return payload;
}

/** The payload as raw bytes, e.g. to sign it. */
export const webhookFixtureBytes = (platform: Platform, name: string) => Buffer.from(JSON.stringify(webhookFixture(platform, name)));

/** Every fixture name of a platform, so a test can prove each one is covered. */
export const webhookFixtureNames = (platform: Platform) =>
  readdirSync(dir(platform))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
