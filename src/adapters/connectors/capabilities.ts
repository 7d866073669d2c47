import type { ExternalChannel } from '../../domain/message.ts';
import type { ConnectorCapabilities } from '../../ports/connector.ts';

const MB = 1024 ** 2;

// https://core.telegram.org/bots/api#reactiontypeemoji: the emoji a bot may react with.
const TELEGRAM_REACTIONS: readonly string[] = (
  '👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤\u200D🔥 🌚 🌭 💯 🤣 ⚡ 🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 ' +
  '👨\u200D💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷\u200D♂ 🤷 🤷\u200D♀ 😡'
).split(' ');

/**
 * What each platform accepts and what our connectors do with it (mock and live alike). Edits,
 * deletions, reactions and replies are true where the platform's API has the operation and our
 * connector relays it (src/app/delivery/change-sender.ts); elsewhere the API answers 409
 * not-supported-by-channel (src/app/message-changes.ts). WhatsApp has no edit or delete for a
 * business's messages; the Send API has replies (`reply_to`) but no edits or deletes.
 */
export const CAPABILITIES: Readonly<Record<ExternalChannel, ConnectorCapabilities>> = {
  // https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types (documents up to 100 MB)
  whatsapp: {
    max_text_length: 4096,
    max_file_bytes: 100 * MB,
    read_receipts: true,
    templates: true,
    edits: false,
    reactions: true,
    deletes: false,
    replies: true,
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
    replies: true,
    media: true,
  },
  // https://core.telegram.org/bots/api#sending-files (multipart uploads up to 50 MB on the public Bot API server)
  telegram: {
    max_text_length: 4096,
    max_file_bytes: 50 * MB,
    read_receipts: false,
    templates: false,
    edits: true,
    reactions: true,
    deletes: true,
    replies: true,
    reaction_emoji: TELEGRAM_REACTIONS,
    media: true,
  },
};
