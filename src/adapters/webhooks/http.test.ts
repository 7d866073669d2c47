/** The webhook transport against a real local server: pinned address, no redirects, bounded answer and time. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpWebhookTransport } from './http.ts';
import { WebhookTransportError } from '../../ports/webhook-transport.ts';

const seen: { host?: string; path?: string; body: string }[] = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    seen.push({ host: req.headers.host, path: req.url, body });
    if (req.url === '/redirect') return res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
    if (req.url === '/huge') {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      pump();
      return undefined;
    }
    if (req.url === '/slow') return undefined; // never answers
    return res.writeHead(204).end();
  });
});
let port = 0;
const transport = new HttpWebhookTransport();
const post = (url: string, timeoutMs = 2000) =>
  transport.post({ url: new URL(url), address: '127.0.0.1', headers: { 'webhook-id': 'x' }, body: '{"a":1}', timeoutMs, maxResponseBytes: 1024 });

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('HttpWebhookTransport', () => {
  it('connects to the checked address whatever the name resolves to, keeping the name in Host', async () => {
    const answer = await post(`http://hooks.example.invalid:${port}/in`);
    expect(answer.status).toBe(204);
    expect(seen.at(-1)).toEqual({ host: `hooks.example.invalid:${port}`, path: '/in', body: '{"a":1}' });
  });

  it('does not follow redirects: a 302 is the answer', async () => {
    expect((await post(`http://localhost:${port}/redirect`)).status).toBe(302);
    expect(seen.some((s) => s.path === '/elsewhere')).toBe(false);
  });

  it('stops reading a huge answer at the cap', async () => {
    const answer = await post(`http://localhost:${port}/huge`);
    expect(answer.status).toBe(200);
  });

  it('gives up after the timeout with a transport error', async () => {
    const error = await post(`http://localhost:${port}/slow`, 300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookTransportError);
    expect((error as WebhookTransportError).message).toBe('no answer within 300 ms');
    expect((error as WebhookTransportError).latencyMs).toBeGreaterThanOrEqual(290);
  });

  it('reports a refused connection as a transport error', async () => {
    const error = await transport
      .post({ url: new URL('http://127.0.0.1:1/'), address: '127.0.0.1', headers: {}, body: '{}', timeoutMs: 2000, maxResponseBytes: 1024 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookTransportError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('resolves names and passes IP literals through', async () => {
    expect(await transport.resolve('::1')).toEqual(['::1']);
    expect(await transport.resolve('localhost')).toContain('127.0.0.1');
    await expect(transport.resolve('no-such-host.invalid')).rejects.toBeInstanceOf(WebhookTransportError);
  });
});
