/** One entry point for the webhook route: the channel in the path picks the platform's parser. */
import type { InboundEvent } from '../../domain/inbound-event.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { parseInstagramWebhook, parseMessengerWebhook } from './meta-messaging.ts';
import { parseTelegramUpdate } from './telegram.ts';
import { parseWhatsAppWebhook } from './whatsapp.ts';

const PARSERS: Record<ExternalChannel, (body: unknown) => InboundEvent[]> = {
  telegram: parseTelegramUpdate,
  whatsapp: parseWhatsAppWebhook,
  messenger: parseMessengerWebhook,
  instagram: parseInstagramWebhook,
};

/** Parses a verified webhook body; throws `invalid-webhook` (400) when it is not the platform's shape. */
export const parseWebhook = (channel: ExternalChannel, body: unknown): InboundEvent[] => PARSERS[channel](body);
