import type { ExternalChannel, Payload } from '../domain/message.ts';

export interface OutboundMessage {
  messageId: string;
  conversationId: number;
  senderId: number;
  to?: string;
  payload: Payload;
  attempt: number;
}

export interface ConnectorCapabilities {
  max_text_length: number;
  max_file_bytes: number;
  read_receipts: boolean;
  [k: string]: unknown;
}

/** An external messaging platform. */
export interface Connector {
  readonly channel: ExternalChannel;
  readonly mode: 'mock' | 'live';
  readonly capabilities: ConnectorCapabilities;
  /**
   * Sends one message. Resolves with the platform's id once the platform reports delivery;
   * rejects with ConnectorError (retryable or permanent) otherwise. `messageId` is the
   * idempotency key given to the platform.
   */
  send(message: OutboundMessage): Promise<{ externalId: string }>;
}

export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly isPermanent: boolean,
  ) {
    super(message);
  }
}
