/** Factories for what the delivery pipeline hands a Connector. */
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { OutboundFile, OutboundMessage } from '../../src/ports/connector.ts';

export function outboundMessage(to: string | undefined, payload: OutboundMessage['payload'], file?: OutboundFile): OutboundMessage {
  return { messageId: randomUUID(), conversationId: 1, senderId: 1, to, payload, file, attempt: 1 };
}

/** A file whose bytes stream from memory; `url` set → the platform may fetch it instead. */
export function outboundFile(bytes: Buffer, mimeType: string, filename: string, url?: string): OutboundFile {
  return { filename, mimeType, sizeBytes: bytes.length, url, open: async () => Readable.from([bytes]) };
}
