/** One signed POST to a receiver, sent to an address checked beforehand (never re-resolved by the transport). */
export interface WebhookPost {
  url: URL;
  /** The address `url`'s host resolved to and that passed the SSRF check: the connection goes there. */
  address: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Response bytes read at most; the rest is discarded and the connection closed. */
  maxResponseBytes: number;
}

/** What the receiver answered (any status: redirects are not followed) and how long it took. */
export interface WebhookAnswer {
  status: number;
  latencyMs: number;
}

/**
 * HTTP to webhook receivers (external systems). Errors without an answer (refused, reset,
 * timeout, TLS) reject with WebhookTransportError.
 */
export interface WebhookTransport {
  /** The host's addresses (IPv4 and IPv6); an IP literal resolves to itself; throws WebhookTransportError when the name does not resolve. */
  resolve(host: string): Promise<string[]>;
  /** Sends the request to `address` with `url`'s host name (Host header, TLS SNI and certificate check). */
  post(request: WebhookPost): Promise<WebhookAnswer>;
}

export class WebhookTransportError extends Error {
  constructor(
    message: string,
    readonly latencyMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
