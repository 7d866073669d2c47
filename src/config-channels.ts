/**
 * The channels part of the config (CONTRACT.md "Channels"): credentials and base URLs per
 * platform, agents, mocks and send rates. Called by config.ts with its environment readers.
 */
import { CHANNELS, type ExternalChannel } from './domain/message.ts';

export interface TelegramSettings {
  botToken?: string;
  webhookSecret?: string;
  baseUrl: string;
}
export interface MetaSettings {
  appSecret?: string;
  graphBaseUrl: string;
  graphVersion: string;
}
export interface WhatsAppSettings {
  accessToken?: string;
  phoneNumberId?: string;
  verifyToken?: string;
}
export interface PageSettings {
  accountId?: string;
  accessToken?: string;
  verifyToken?: string;
}

export interface ChannelsConfig {
  telegram: TelegramSettings;
  meta: MetaSettings;
  whatsapp: WhatsAppSettings;
  messenger: PageSettings;
  instagram: PageSettings;
  /** CHANNEL_MOCKS: mocks for channels without credentials even in production. */
  isMockForced: boolean;
  /** Usernames that become the members of each channel's new conversations. */
  agents: Record<ExternalChannel, string[]>;
  /** Sends per second one channel account is allowed (the platform's documented rate by default). */
  ratePerSecond: Record<ExternalChannel, number>;
  /** Per HTTP call to a platform. */
  timeoutMs: number;
  /** Largest inbound media file fetched from a platform and stored. */
  maxInboundMediaBytes: number;
  /** WhatsApp's customer-service window. */
  windowHours: number;
}

type Read = (name: string, ...aliases: string[]) => string | undefined;
type ReadInt = (name: string, dflt: number, min?: number, max?: number) => number;
type ReadBool = (name: string, dflt: boolean) => boolean;

// Documented platform limits: Telegram ~30 msg/s per bot, WhatsApp Cloud API 80 msg/s per number
// by default, Messenger/Instagram Send API a few hundred calls per second per page (we stay low).
const DEFAULT_RATES: Record<ExternalChannel, number> = { telegram: 30, whatsapp: 80, messenger: 40, instagram: 20 };

export function channelsConfig(str: Read, int: ReadInt, bool: ReadBool): ChannelsConfig {
  const list = (raw: string | undefined) =>
    (raw ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
  const everyChannel = list(str('CHANNEL_AGENTS'));
  const agents = {} as Record<ExternalChannel, string[]>;
  const ratePerSecond = {} as Record<ExternalChannel, number>;
  for (const c of CHANNELS) {
    const own = str(`CHANNEL_AGENTS_${c.toUpperCase()}`);
    agents[c] = own === undefined ? everyChannel : list(own);
    ratePerSecond[c] = int(`${c.toUpperCase()}_RATE_PER_SECOND`, DEFAULT_RATES[c], 1, 10_000);
  }
  return {
    telegram: {
      botToken: str('TELEGRAM_BOT_TOKEN'),
      webhookSecret: str('TELEGRAM_WEBHOOK_SECRET'),
      baseUrl: str('TELEGRAM_API_BASE_URL') ?? 'https://api.telegram.org',
    },
    meta: {
      appSecret: str('META_APP_SECRET'),
      graphBaseUrl: str('META_GRAPH_BASE_URL') ?? 'https://graph.facebook.com',
      graphVersion: str('META_GRAPH_VERSION') ?? 'v21.0',
    },
    whatsapp: { accessToken: str('WHATSAPP_ACCESS_TOKEN'), phoneNumberId: str('WHATSAPP_PHONE_NUMBER_ID'), verifyToken: str('WHATSAPP_VERIFY_TOKEN') },
    messenger: { accountId: str('MESSENGER_PAGE_ID'), accessToken: str('MESSENGER_PAGE_ACCESS_TOKEN'), verifyToken: str('MESSENGER_VERIFY_TOKEN') },
    instagram: { accountId: str('INSTAGRAM_ACCOUNT_ID'), accessToken: str('INSTAGRAM_ACCESS_TOKEN'), verifyToken: str('INSTAGRAM_VERIFY_TOKEN') },
    isMockForced: bool('CHANNEL_MOCKS', false),
    agents,
    ratePerSecond,
    timeoutMs: int('CHANNEL_TIMEOUT_MS', 10_000, 100, 120_000),
    maxInboundMediaBytes: int('CHANNEL_MAX_INBOUND_MEDIA_BYTES', 100 * 1024 ** 2, 1),
    windowHours: int('WHATSAPP_WINDOW_HOURS', 24, 1, 24 * 365),
  };
}

/** Which channels have credentials for a live connector. */
export function hasCredentials(c: ChannelsConfig, channel: ExternalChannel): boolean {
  switch (channel) {
    case 'telegram':
      return Boolean(c.telegram.botToken);
    case 'whatsapp':
      return Boolean(c.whatsapp.accessToken && c.whatsapp.phoneNumberId);
    case 'messenger':
      return Boolean(c.messenger.accessToken);
    case 'instagram':
      return Boolean(c.instagram.accessToken);
  }
}

/** live with credentials; otherwise mock outside production (or when forced), else disabled. */
export function channelMode(c: ChannelsConfig, channel: ExternalChannel, isProduction: boolean): 'live' | 'mock' | 'disabled' {
  if (hasCredentials(c, channel)) return 'live';
  return !isProduction || c.isMockForced ? 'mock' : 'disabled';
}

/** The channels config as safe to log. */
export function redactChannels(c: ChannelsConfig): unknown {
  const hide = (v?: string) => (v ? '[redacted]' : undefined);
  return {
    ...c,
    telegram: { ...c.telegram, botToken: hide(c.telegram.botToken), webhookSecret: hide(c.telegram.webhookSecret) },
    meta: { ...c.meta, appSecret: hide(c.meta.appSecret) },
    whatsapp: { ...c.whatsapp, accessToken: hide(c.whatsapp.accessToken), verifyToken: hide(c.whatsapp.verifyToken) },
    messenger: { ...c.messenger, accessToken: hide(c.messenger.accessToken), verifyToken: hide(c.messenger.verifyToken) },
    instagram: { ...c.instagram, accessToken: hide(c.instagram.accessToken), verifyToken: hide(c.instagram.verifyToken) },
  };
}
