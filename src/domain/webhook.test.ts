import { describe, expect, it } from 'vitest';
import { checkEndpointUrl, checkResolvedAddresses, isPublicAddress, retryDelayMs } from './webhook.ts';
import { DomainError } from './errors.ts';

const code = (f: () => unknown) => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof DomainError ? e.code : String(e);
  }
};

describe('isPublicAddress', () => {
  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    'accepts %s',
    (a) => expect(isPublicAddress(a)).toBe(true),
  );
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '192.0.2.1',
    '::',
    '::1',
    'fe80::1',
    'fd12:3456::1',
    'fc00::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::127.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    '2001:db8::1',
    'not-an-ip',
  ])('refuses %s', (a) => expect(isPublicAddress(a)).toBe(false));
  it('knows where 172.16/12 ends', () => {
    expect(isPublicAddress('172.15.255.255')).toBe(true);
    expect(isPublicAddress('172.32.0.1')).toBe(true);
  });
});

describe('checkEndpointUrl', () => {
  it('accepts https URLs with a public host, and http or private ones only when private URLs are allowed', () => {
    expect(code(() => checkEndpointUrl('https://hooks.example.com/x?token=1', false))).toBe('accepted');
    expect(code(() => checkEndpointUrl('http://hooks.example.com/x', false))).toBe('webhook-url-not-allowed');
    expect(code(() => checkEndpointUrl('http://127.0.0.1:8080/x', true))).toBe('accepted');
    expect(code(() => checkEndpointUrl('https://[::1]/x', false))).toBe('webhook-url-not-allowed');
  });
  it.each([
    'ftp://example.com/',
    'file:///etc/passwd',
    'gopher://x/',
    'javascript:alert(1)',
    'https://u:p@example.com/',
    'https://example.com/#frag',
    'not a url',
  ])('refuses %s even when private URLs are allowed', (url) => expect(code(() => checkEndpointUrl(url, true))).toBe('webhook-url-not-allowed'));
  it('refuses names that resolve to any private address', () => {
    expect(code(() => checkResolvedAddresses('x.example', ['8.8.8.8', '10.0.0.1']))).toBe('webhook-url-not-allowed');
    expect(code(() => checkResolvedAddresses('x.example', []))).toBe('webhook-url-not-allowed');
    expect(code(() => checkResolvedAddresses('x.example', ['8.8.8.8']))).toBe('accepted');
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base up to the cap, within ±20 % jitter', () => {
    expect(retryDelayMs(1, 1000, 60_000, () => 0.5)).toBe(1000);
    expect(retryDelayMs(4, 1000, 60_000, () => 0.5)).toBe(8000);
    expect(retryDelayMs(20, 1000, 60_000, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(1, 1000, 60_000, () => 0)).toBe(800);
    expect(retryDelayMs(1, 1000, 60_000, () => 0.999999)).toBe(1200);
  });
  it('with the defaults (30 s base, 1 h cap) spreads about a day over some thirty attempts', () => {
    let total = 0;
    let attempts = 0;
    while (total < 86_400_000) total += retryDelayMs(++attempts, 30_000, 3_600_000, () => 0.5);
    expect(attempts).toBeGreaterThan(20);
    expect(attempts).toBeLessThan(35);
  });
});
