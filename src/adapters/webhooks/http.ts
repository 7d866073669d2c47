/** Webhook POSTs over node:http(s): pinned to a checked address, no redirects, bounded in time and response size. */
import http from 'node:http';
import https from 'node:https';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { WebhookAnswer, WebhookPost, WebhookTransport } from '../../ports/webhook-transport.ts';
import { WebhookTransportError } from '../../ports/webhook-transport.ts';

export class HttpWebhookTransport implements WebhookTransport {
  async resolve(host: string): Promise<string[]> {
    if (isIP(host)) return [host];
    try {
      return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (e) {
      throw new WebhookTransportError(`${host} does not resolve`, 0, { cause: e });
    }
  }

  post(request: WebhookPost): Promise<WebhookAnswer> {
    const { url, address, headers, body, timeoutMs, maxResponseBytes } = request;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    // The connection goes to the address that was checked, whatever DNS says now (rebinding).
    const pinned: LookupFunction = (_host, options, callback) => {
      const family = isIP(address);
      if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
      else callback(null, address, family);
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<WebhookAnswer>((resolve, reject) => {
      let isSettled = false;
      const settle = (outcome: () => void) => {
        if (isSettled) return;
        isSettled = true;
        clearTimeout(timer);
        outcome();
      };
      const req = client.request(
        url,
        {
          method: 'POST',
          lookup: pinned,
          agent: false,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Chat4All-Webhooks/1' },
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            // Enough: the status is what counts; a receiver streaming a huge body is cut off.
            if (read > maxResponseBytes) {
              settle(() => resolve({ status: res.statusCode ?? 0, latencyMs: elapsed() }));
              res.destroy();
            }
          });
          res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, latencyMs: elapsed() })));
          res.on('error', (e) => settle(() => reject(new WebhookTransportError(`response failed: ${e.message}`, elapsed(), { cause: e }))));
        },
      );
      const timer = setTimeout(() => {
        settle(() => reject(new WebhookTransportError(`no answer within ${timeoutMs} ms`, elapsed())));
        req.destroy();
      }, timeoutMs);
      req.on('error', (e) => settle(() => reject(new WebhookTransportError(describe(e), elapsed(), { cause: e }))));
      req.end(body);
    });
  }
}

const describe = (e: Error & { code?: string }) => (e.code ? `${e.code}: ${e.message}` : e.message);
