/** Checks and conversions every live connector applies to an OutboundMessage before it speaks its platform's format. */
import { ConnectorError, type ConnectorCapabilities, type OutboundFile, type OutboundMessage } from '../../ports/connector.ts';

/** The recipient's platform address; a message without one can never be sent. */
export function recipientOf(m: OutboundMessage): string {
  if (!m.to) throw new ConnectorError('the message names no recipient on this channel', 'invalid-recipient');
  return m.to;
}

/** The text, refused before any request when the platform would refuse it anyway. */
export function textOf(content: string, capabilities: ConnectorCapabilities): string {
  if (content.length === 0) throw new ConnectorError('empty text', 'invalid-request');
  if (content.length > capabilities.max_text_length) {
    throw new ConnectorError(`text longer than ${capabilities.max_text_length} characters`, 'invalid-request');
  }
  return content;
}

/** The file of a file message, within the platform's size limit. */
export function fileOf(m: OutboundMessage, capabilities: ConnectorCapabilities): OutboundFile {
  if (!m.file) throw new ConnectorError('a file message without its file', 'invalid-request');
  if (m.file.sizeBytes > capabilities.max_file_bytes) {
    throw new ConnectorError(`file of ${m.file.sizeBytes} bytes is over the platform's ${capabilities.max_file_bytes}`, 'invalid-request');
  }
  return m.file;
}

/**
 * Reads the whole file for a multipart upload (fetch needs a Blob to compute the part's length).
 * Bounded by the platform's limit, so memory stays within max_file_bytes per send in flight.
 */
export async function readFile(file: OutboundFile, maxBytes: number): Promise<Blob> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of await file.open()) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += buf.length;
      if (size > maxBytes) throw new ConnectorError(`file is over the platform's ${maxBytes} bytes`, 'invalid-request');
      chunks.push(buf);
    }
  } catch (e) {
    if (e instanceof ConnectorError) throw e;
    // Our own store failed, not the platform: worth another attempt.
    throw new ConnectorError(`could not read the file to upload: ${e instanceof Error ? e.message : String(e)}`, 'unavailable', { cause: e });
  }
  return new Blob(chunks, { type: file.mimeType });
}
