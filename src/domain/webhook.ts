/** Outbound webhooks: the events an endpoint may subscribe to, URL rules (SSRF) and the retry schedule. Pure. */
import { isIP } from 'node:net';
import { invalid } from './errors.ts';

export const WEBHOOK_EVENT_TYPES = [
  'message.created',
  'message.status',
  'message.updated',
  'message.deleted',
  'conversation.created',
  'conversation.read',
  'member.joined',
  'member.left',
  'contact.created',
  'upload.completed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const MAX_ENDPOINT_URL_LENGTH = 2048;

const urlRefused = (reason: string) => invalid('webhook-url-not-allowed', `The webhook URL is not allowed: ${reason}`);

/**
 * Checks the URL's form: https (http too when private URLs are allowed, for local receivers), no
 * credentials, no fragment. Returns the parsed URL; the address check happens after DNS.
 */
export function checkEndpointUrl(raw: string, isPrivateAllowed: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw urlRefused('not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(isPrivateAllowed && url.protocol === 'http:')) throw urlRefused(`${url.protocol} is not https:`);
  if (url.username || url.password) throw urlRefused('credentials in the URL (put a token in the path or query instead)');
  if (url.hash) throw urlRefused('a fragment');
  const host = hostOf(url);
  if (!isPrivateAllowed && isIP(host) && !isPublicAddress(host)) throw urlRefused(`${host} is not a public address`);
  if (!isPrivateAllowed && /(^|\.)(localhost|local|internal)$/i.test(host)) throw urlRefused(`${host} is not a public name`);
  return url;
}

/** The URL's host without IPv6 brackets. */
export const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Refuses addresses a name resolved to when any of them is not public (DNS rebinding: checked again at each delivery). */
export function checkResolvedAddresses(host: string, addresses: readonly string[]): void {
  if (addresses.length === 0) throw urlRefused(`${host} does not resolve`);
  const bad = addresses.find((a) => !isPublicAddress(a));
  if (bad) throw urlRefused(`${host} resolves to ${bad}, which is not a public address`);
}

/**
 * True for globally routable unicast addresses: false for loopback, private (RFC 1918, ULA),
 * link-local, CGNAT, multicast, documentation, benchmarking, reserved and unspecified ranges,
 * and IPv6 forms that embed such an IPv4 address.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return isPublicV4(address);
  if (family === 6) return isPublicV6(address);
  return false;
}

const V4_BLOCKED: [number, number][] = [
  [0x00000000, 8], // 0.0.0.0/8 "this network"
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 CGNAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local (cloud metadata 169.254.169.254)
  [0xac100000, 12], // 172.16/12
  [0xc0000000, 24], // 192.0.0/24 IETF
  [0xc0000200, 24], // TEST-NET-1
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // 198.18/15 benchmarking
  [0xc6336400, 24], // TEST-NET-2
  [0xcb007100, 24], // TEST-NET-3
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved + broadcast
];

function v4ToInt(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function isPublicV4(address: string): boolean {
  const n = v4ToInt(address);
  return !V4_BLOCKED.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)));
}

function isPublicV6(address: string): boolean {
  const words = expandV6(address);
  if (!words) return false;
  const [w0, w1, w2, w3, w4, w5, w6, w7] = words;
  const embeddedV4 = `${w6 >> 8}.${w6 & 255}.${w7 >> 8}.${w7 & 255}`;
  if (words.slice(0, 5).every((w) => w === 0) && (w5 === 0xffff || w5 === 0)) {
    // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), :: and ::1.
    return w5 === 0xffff || w6 !== 0 ? isPublicV4(embeddedV4) : false;
  }
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return isPublicV4(embeddedV4); // NAT64
  if (w0 === 0x2002) return isPublicV4(`${w1 >> 8}.${w1 & 255}.${w2 >> 8}.${w2 & 255}`); // 6to4
  if ((w0 & 0xfe00) === 0xfc00) return false; // fc00::/7 unique local
  if ((w0 & 0xffc0) === 0xfe80 || (w0 & 0xffc0) === 0xfec0) return false; // link-local, site-local
  if ((w0 & 0xff00) === 0xff00) return false; // multicast
  if (w0 === 0x2001 && w1 === 0x0db8) return false; // documentation
  if (w0 === 0x2001 && w1 < 0x0200) return false; // 2001::/23 IETF special purpose (Teredo, benchmarking…)
  return (w0 & 0xe000) === 0x2000; // only 2000::/3 is global unicast
}

/** The eight 16-bit words of an IPv6 address (dotted IPv4 tail allowed), or undefined. */
function expandV6(address: string): number[] | undefined {
  let text = address.split('%')[0].toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4ToInt(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const a = parse(head);
  const b = parse(tail);
  const fill = text.includes('::') ? 8 - a.length - b.length : 0;
  const words = [...a, ...new Array<number>(Math.max(fill, 0)).fill(0), ...b];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}

/**
 * Delay before attempt `attempt + 1` (attempt ≥ 1): base × 2^(attempt-1), capped, with ±20 %
 * jitter so that endpoints recovering together are not hit by one synchronised wave.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exact = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.max(1, Math.round(exact * (0.8 + 0.4 * random())));
}
