import webpush from 'web-push';
import { PushSendError, type PushMessage, type PushSender, type PushTarget } from '../../ports/push-sender.ts';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/**
 * Web Push through the `web-push` library for the cryptography (the VAPID JWT and the aes128gcm
 * payload encryption) and Node's fetch for the request: one transport for https push services and
 * the loopback http fakes of the tests, with a timeout and no redirects followed.
 */
export class WebPushSender implements PushSender {
  constructor(
    private readonly vapid: VapidKeys & { subject: string },
    private readonly timeoutMs = 10_000,
  ) {}

  get publicKey(): string {
    return this.vapid.publicKey;
  }

  async send(target: PushTarget, message: PushMessage): Promise<'accepted' | 'gone'> {
    const request = webpush.generateRequestDetails({ endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } }, message.payload, {
      vapidDetails: this.vapid,
      TTL: message.ttlSeconds,
      urgency: message.urgency,
      contentEncoding: 'aes128gcm',
      ...(message.topic ? { topic: message.topic } : {}),
    });
    // fetch sets Content-Length from the body itself.
    const headers = Object.fromEntries(
      Object.entries(request.headers)
        .filter(([name]) => name.toLowerCase() !== 'content-length')
        .map(([name, value]) => [name, String(value)]),
    );
    let response: Response;
    try {
      response = await fetch(request.endpoint, {
        method: 'POST',
        headers,
        body: request.body ?? undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new PushSendError('push service unreachable', undefined, { cause: e });
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 404 || response.status === 410) return 'gone';
    if (response.status >= 200 && response.status < 300) return 'accepted';
    throw new PushSendError(`push service answered ${response.status}`, response.status);
  }
}

/** A new VAPID key pair (P-256), base64url. */
export function generateVapidKeys(): VapidKeys {
  return webpush.generateVAPIDKeys();
}
