/**
 * What an operator gets in production without extra settings: metrics and the API explorer off
 * the public port, and security headers on every response (issue 11, "Safe defaults").
 * Header and routing behaviour does not depend on the store, so these run on PGlite only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, type TestInstance } from '../support/harness.ts';

const PRODUCTION = {
  ENVIRONMENT: 'production',
  DEMO_USERS: 'false',
  REGISTRATION: 'closed',
  JWT_SECRET_KEY: 'production-test-key-0123456789abcdef',
  METRICS_PORT: '0',
};

function expectSecurityHeaders(headers: Record<string, unknown>, where: string): void {
  expect(headers['x-frame-options'], where).toBe('DENY');
  expect(headers['x-content-type-options'], where).toBe('nosniff');
  expect(headers['referrer-policy'], where).toBe('no-referrer');
  expect(String(headers['content-security-policy']), where).toMatch(/frame-ancestors 'none'/);
}

describe('production defaults', () => {
  let c4: TestInstance;
  beforeAll(async () => {
    c4 = await startInstance('pglite', PRODUCTION);
  });
  afterAll(async () => c4?.close());

  it('serves /metrics on METRICS_PORT only, never on the public port', async () => {
    expect((await c4.request('GET', '/metrics')).status).toBe(404);
    expect(c4.metricsUrl).toBeDefined();
    const res = await fetch(`${c4.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('# TYPE chat4all_messages_accepted_total counter');
    expect((await fetch(`${c4.metricsUrl}/health`)).status).toBe(404);
  });

  it('hides /docs and /openapi.json', async () => {
    for (const url of ['/docs', '/docs/', '/openapi.json']) expect((await c4.request('GET', url)).status, url).toBe(404);
  });

  it('puts security headers on every response, errors included', async () => {
    const responses = {
      health: await c4.request('GET', '/health'),
      notFound: await c4.request('GET', '/nope'),
      unauthorized: await c4.request('GET', '/v1/conversations'),
      badLogin: await c4.request('POST', '/auth/token', { body: { username: 'x', password: 'wrong-password' } }),
    };
    expect(responses.notFound.status).toBe(404);
    expect(responses.unauthorized.status).toBe(401);
    for (const [where, res] of Object.entries(responses)) {
      expectSecurityHeaders(res.headers, where);
      expect(String(res.headers['content-security-policy']), where).toMatch(/^default-src 'none'/);
    }
  });

  it('the web client keeps its own policy, which lets its scripts run', async () => {
    const page = await c4.request('GET', '/');
    expect(page.status).toBe(200);
    expectSecurityHeaders(page.headers, '/');
    expect(String(page.headers['content-security-policy'])).toMatch(/script-src 'self'/);
  });
});

describe('production with DOCS_ENABLED=true', () => {
  let c4: TestInstance;
  beforeAll(async () => {
    c4 = await startInstance('pglite', { ...PRODUCTION, DOCS_ENABLED: 'true' });
  });
  afterAll(async () => c4?.close());

  it('serves the explorer under its own strict policy, usable over plain http', async () => {
    let res = await c4.request('GET', '/docs');
    if (res.status >= 300 && res.status < 400) res = await c4.request('GET', new URL(String(res.headers.location), 'http://x/docs/').pathname);
    expect(res.status).toBe(200);
    expectSecurityHeaders(res.headers, '/docs');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    expect((await c4.request('GET', '/openapi.json')).status).toBe(200);
  });
});
