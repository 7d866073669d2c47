import type { ExternalChannel } from '../../domain/message.ts';
import type { ConnectorCapabilities } from '../../ports/connector.ts';

const MB = 1024 ** 2;

/**
 * What each platform accepts and what our connectors do with it (mock and live alike). Edits,
 * deletions, reactions and replies are platform features that no connector relays yet, so they are
 * false everywhere: the API answers 409 not-supported-by-channel for them (src/app/message-changes.ts).
 */
export const CAPABILITIES: Readonly<Record<ExternalChannel, ConnectorCapabilities>> = {
  // https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types (documents up to 100 MB)
  whatsapp: {
    max_text_length: 4096,
    max_file_bytes: 100 * MB,
    read_receipts: true,
    templates: true,
    edits: false,
    reactions: false,
    deletes: false,
    replies: false,
    media: true,
  },
  // https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message (video/audio up to 25 MB; images 8 MB)
  instagram: {
    max_text_length: 1000,
    max_file_bytes: 25 * MB,
    read_receipts: true,
    templates: false,
    edits: false,
    reactions: false,
    deletes: false,
    replies: false,
    media: true,
  },
  // https://developers.facebook.com/docs/messenger-platform/send-messages/saving-assets (assets up to 25 MB)
  messenger: {
    max_text_length: 2000,
    max_file_bytes: 25 * MB,
    read_receipts: true,
    templates: false,
    edits: false,
    reactions: false,
    deletes: false,
    replies: false,
    media: true,
  },
  // https://core.telegram.org/bots/api#sending-files (multipart uploads up to 50 MB on the public Bot API server)
  telegram: {
    max_text_length: 4096,
    max_file_bytes: 50 * MB,
    read_receipts: false,
    templates: false,
    edits: false,
    reactions: false,
    deletes: false,
    replies: false,
    media: true,
  },
};
