import type { Readable } from 'node:stream';
import type { InboundMedia } from '../domain/inbound-event.ts';
import type { ExternalChannel, Payload } from '../domain/message.ts';

/**
 * The bytes of a file message. A connector uses `url` when the platform can fetch it (and the file
 * is within the platform's by-URL limit), otherwise it uploads what `open()` streams.
 */
export interface OutboundFile {
  filename: string;
  mimeType: string;
  sizeBytes: number;
  /** A short-lived URL the platform may download the file from (e.g. a presigned S3 GET); absent when the store has none. */
  url?: string;
  /** Streams the file's bytes (a fresh stream per call), e.g. `() => blobs.read(key)`. */
  open(): Promise<Readable>;
}

export interface OutboundMessage {
  messageId: string;
  conversationId: number;
  senderId: number;
  /** The platform's address of the recipient: Telegram `chat_id`, WhatsApp phone number, PSID or IGSID. */
  to?: string;
  payload: Payload;
  /** Required when `payload.type` is `file`: how to reach its bytes. */
  file?: OutboundFile;
  /** The platform's id of the message this one answers (on this channel), when it has one: sent as the platform's reply reference. */
  replyTo?: string;
  attempt: number;
}

/** A message already on the platform: where it is and its platform id (Telegram message_id, wamid, mid). */
export interface PlatformMessageRef {
  messageId: string;
  /** The chat the message is in: Telegram `chat_id`, WhatsApp phone number, PSID or IGSID. */
  to: string;
  /** The platform's id of the message. */
  externalId: string;
}

export interface ConnectorCapabilities {
  max_text_length: number;
  max_file_bytes: number;
  read_receipts: boolean;
  /** Accepts `payload.type: "template"`. */
  templates: boolean;
  /** Can edit a message already sent. */
  edits: boolean;
  /** Can send reactions to messages. */
  reactions: boolean;
  /** Can delete a message already sent (for everyone). */
  deletes: boolean;
  /** Can send a message as a reply that quotes an earlier one. */
  replies: boolean;
  /** The only emoji the platform takes as reactions (Telegram's fixed set); absent: any emoji. */
  reaction_emoji?: readonly string[];
  [k: string]: unknown;
}

export interface SendResult {
  externalId: string;
  /**
   * `sent` (the default): the platform accepted it, its webhooks report the rest. `delivered`:
   * only a connector without webhooks (the mock) that simulates the platform's delivery report.
   */
  status?: 'sent' | 'delivered';
}

/** An external messaging platform, one instance per channel account. */
export interface Connector {
  readonly channel: ExternalChannel;
  readonly mode: 'mock' | 'live';
  readonly capabilities: ConnectorCapabilities;
  /**
   * Sends one message. Resolves with the platform's id once the platform **accepted** it (status
   * `sent`; delivery and reads arrive later through the platform's webhooks); rejects with a
   * ConnectorError otherwise. Platforms have no idempotency key: a retry after a timeout may
   * deliver twice, so callers retry only what `isPermanent` allows.
   */
  send(message: OutboundMessage): Promise<SendResult>;
  /**
   * Downloads a file a person sent (absent on connectors that cannot, e.g. the mock). Rejects with
   * MediaTooLarge as soon as the file is known to exceed `maxBytes` (before or while reading),
   * and with a ConnectorError when the platform refuses or fails.
   */
  fetchMedia?(media: InboundMedia, maxBytes: number): Promise<FetchedMedia>;
  /**
   * Replaces the text of a message we sent (capability `edits`). A platform answer that the text
   * is already that text counts as success. Rejects with a ConnectorError like `send`.
   */
  editText?(ref: PlatformMessageRef, content: string): Promise<void>;
  /** Deletes a message for everyone (capability `deletes`); a message already gone counts as deleted. */
  deleteMessage?(ref: PlatformMessageRef): Promise<void>;
  /**
   * Sets our account's reaction on a message to `emoji`, or removes it when undefined (capability
   * `reactions`). Platforms keep one reaction per account, so this is a set, not an add: repeating it is harmless.
   */
  setReaction?(ref: PlatformMessageRef, emoji: string | undefined): Promise<void>;
}

/** A person's file as the platform serves it. */
export interface FetchedMedia {
  /** Exactly `sizeBytes` bytes (the stream fails otherwise); the caller must consume or destroy it. */
  body: Readable;
  sizeBytes: number;
  /** The type the platform states (its API or the download's Content-Type), unchecked. */
  mimeType?: string;
  /** A name the platform gives the file (Telegram's file_path, the URL's last segment). */
  filename?: string;
}

/** A person's file is larger than we accept: the caller keeps a note instead of the file. */
export class MediaTooLarge extends Error {
  constructor(
    readonly maxBytes: number,
    /** The size when the platform announced it; undefined when the download ran past the limit. */
    readonly sizeBytes?: number,
  ) {
    super(sizeBytes === undefined ? `media is over the ${maxBytes}-byte limit` : `media of ${sizeBytes} bytes is over the ${maxBytes}-byte limit`);
    this.name = 'MediaTooLarge';
  }
}

/** Why a send failed; the first four are worth retrying, the others are not. */
export type ConnectorErrorClass =
  'rate-limited' | 'unavailable' | 'timeout' | 'network' | 'invalid-recipient' | 'blocked' | 'policy' | 'window-closed' | 'auth' | 'invalid-request';

const RETRYABLE: ReadonlySet<ConnectorErrorClass> = new Set(['rate-limited', 'unavailable', 'timeout', 'network']);

export interface ConnectorErrorDetails {
  /** How long the platform asked us to wait (HTTP `Retry-After`, Telegram `parameters.retry_after`). */
  retryAfterMs?: number;
  /** The platform's own error code, as a string (`131047`, `100/2018001`, `403`). */
  providerCode?: string;
  cause?: unknown;
}

/** A failed send, classified from the platform's answer; `isPermanent` follows from the class. */
export class ConnectorError extends Error {
  readonly isPermanent: boolean;
  readonly retryAfterMs?: number;
  readonly providerCode?: string;

  constructor(
    message: string,
    readonly errorClass: ConnectorErrorClass,
    details: ConnectorErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ConnectorError';
    this.isPermanent = !RETRYABLE.has(errorClass);
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.providerCode !== undefined) this.providerCode = details.providerCode;
  }
}
