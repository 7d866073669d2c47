/**
 * A Web Push service (RFC 8030): the browser vendor's server that holds a message until the
 * device is reachable. The adapter encrypts the payload for the subscription (RFC 8291) and
 * authenticates as the application server (VAPID, RFC 8292).
 */
export interface PushTarget {
  endpoint: string;
  /** The subscription's P-256 public key and auth secret, base64url. */
  p256dh: string;
  auth: string;
}

export interface PushMessage {
  /** The cleartext the service worker receives (JSON). */
  payload: string;
  /** Seconds the push service keeps it for an unreachable device (TTL header). */
  ttlSeconds: number;
  /** A newer message with the same topic replaces an undelivered one (Topic header). */
  topic?: string;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
}

export interface PushSender {
  /** The application server key browsers subscribe with: an uncompressed P-256 point, base64url. */
  readonly publicKey: string;
  /**
   * Sends one message. Resolves 'accepted' when the push service took it (2xx) and 'gone' when
   * it says the subscription no longer exists (404, 410); throws PushSendError otherwise
   * (another status, no answer within the timeout, network failure).
   */
  send(target: PushTarget, message: PushMessage): Promise<'accepted' | 'gone'>;
}

/** The push service refused the message or could not be reached; `status` when it answered. */
export class PushSendError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
