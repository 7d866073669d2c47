/**
 * A webhook receiver on loopback, as an integration would run one: it checks every request's
 * Standard Webhooks signature twice, by hand with the specification's algorithm
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
 * "Signature scheme": HMAC-SHA256 over `${id}.${timestamp}.${body}` with the base64-decoded
 * secret, base64 output, `v1,` prefix, several space-separated signatures) and with the
 * `standardwebhooks` library's verify. Tests script its answers: a status, or no answer at all.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  event: { type: string; timestamp: string; data: Record<string, any> };
  /** For each secret the receiver knows: did the spec's algorithm (by hand) and the library both verify? */
  verifiedBy: { secret: string; byHand: boolean; byLibrary: boolean }[];
}

type Behaviour = { status: number } | { hangMs: number };

/** The spec's algorithm, written out: which of `secrets` signed this request. */
export function verifiesByHand(secret: string, id: string, timestamp: string, body: string, signatureHeader: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatureHeader.split(' ').some((entry) => {
    const [version, sig] = entry.split(',');
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function verifiesWithLibrary(secret: string, headers: Record<string, string>, body: string): boolean {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Every request, also those answered with an error. */
  readonly attempts: { id: string; at: number }[] = [];
  secrets: string[] = [];
  private readonly script: Behaviour[] = [];
  private server: http.Server | undefined;
  /** Answer when the script is empty. */
  defaultStatus = 200;

  /** The next requests get these answers, in order (then `defaultStatus`). */
  answerNext(...behaviours: Behaviour[]): void {
    this.script.push(...behaviours);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const h = (name: string) => String(req.headers[name] ?? '');
        const headers = { 'webhook-id': h('webhook-id'), 'webhook-timestamp': h('webhook-timestamp'), 'webhook-signature': h('webhook-signature') };
        this.attempts.push({ id: headers['webhook-id'], at: Date.now() });
        const behaviour = this.script.shift() ?? { status: this.defaultStatus };
        if ('hangMs' in behaviour) {
          setTimeout(() => res.destroy(), behaviour.hangMs);
          return;
        }
        if (behaviour.status >= 200 && behaviour.status < 300) {
          this.received.push({
            id: headers['webhook-id'],
            timestamp: headers['webhook-timestamp'],
            signature: headers['webhook-signature'],
            body,
            event: JSON.parse(body),
            verifiedBy: this.secrets.map((secret) => ({
              secret,
              byHand: verifiesByHand(secret, headers['webhook-id'], headers['webhook-timestamp'], body, headers['webhook-signature']),
              byLibrary: verifiesWithLibrary(secret, headers, body),
            })),
          });
        }
        res.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hooks`;
  }

  /** Events of one type, in arrival order. */
  ofType(type: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.event.type === type);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
