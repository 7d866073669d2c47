/** Part of the composition root: one connector per channel, live when its credentials are set. */
import type { Config } from './config.ts';
import { channelMode } from './config-channels.ts';
import type { Logger } from './app/logger.ts';
import type { Connector } from './ports/connector.ts';
import { CHANNELS, type ExternalChannel } from './domain/message.ts';
import { MockConnector } from './adapters/connectors/mock.ts';
import { TelegramConnector } from './adapters/connectors/telegram.ts';
import { WhatsAppConnector } from './adapters/connectors/whatsapp.ts';
import { MessengerConnector } from './adapters/connectors/messenger.ts';
import { InstagramConnector } from './adapters/connectors/instagram.ts';

export type ChannelMode = 'live' | 'mock' | 'disabled';

/** The enabled connectors and every channel's mode (a disabled channel has no connector). */
export function openConnectors(config: Config, logger: Logger): { connectors: Connector[]; modes: Record<ExternalChannel, ChannelMode> } {
  const isProduction = config.environment === 'production';
  const modes = {} as Record<ExternalChannel, ChannelMode>;
  const connectors: Connector[] = [];
  const mockLog = logger.child({ component: 'connector' });
  for (const channel of CHANNELS) {
    modes[channel] = channelMode(config.channels, channel, isProduction);
    if (modes[channel] === 'live') connectors.push(liveConnector(config, channel));
    else if (modes[channel] === 'mock')
      connectors.push(new MockConnector(channel, config.delivery.connectorLatencyMs, config.delivery.connectorFailureRate, mockLog));
  }
  const mocked = CHANNELS.filter((c) => modes[c] === 'mock');
  if (mocked.length > 0) logger.warn({ channels: mocked }, 'channels without credentials are simulated (mock): nothing reaches the real platforms');
  return { connectors, modes };
}

function liveConnector(config: Config, channel: ExternalChannel): Connector {
  const c = config.channels;
  const common = { timeoutMs: c.timeoutMs, throttle: { ratePerSecond: c.ratePerSecond[channel] } };
  const graph = { baseUrl: c.meta.graphBaseUrl, version: c.meta.graphVersion, ...common };
  switch (channel) {
    case 'telegram':
      return new TelegramConnector({ botToken: c.telegram.botToken ?? '', baseUrl: c.telegram.baseUrl, ...common });
    case 'whatsapp':
      return new WhatsAppConnector({ accessToken: c.whatsapp.accessToken ?? '', phoneNumberId: c.whatsapp.phoneNumberId ?? '', ...graph });
    case 'messenger':
      return new MessengerConnector({ accessToken: c.messenger.accessToken ?? '', pageId: c.messenger.accountId ?? 'me', ...graph });
    case 'instagram':
      return new InstagramConnector({ accessToken: c.instagram.accessToken ?? '', accountId: c.instagram.accountId, ...graph });
  }
}
