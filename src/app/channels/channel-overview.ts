import type { Database } from '../../ports/database.ts';
import type { Connector, ConnectorCapabilities } from '../../ports/connector.ts';
import { CHANNELS, type ExternalChannel } from '../../domain/message.ts';
import { channelHealth, type ChannelHealth } from './channel-health.ts';

/** live (credentials set), mock (simulated) or disabled. */
export type ChannelMode = 'live' | 'mock' | 'disabled';

export interface ChannelStatus {
  channel: ExternalChannel;
  mode: ChannelMode;
  /** Empty for a disabled channel (no connector). */
  capabilities: ConnectorCapabilities | Record<string, never>;
  health: ChannelHealth;
}

/** Each external channel's mode, what its connector can do, and what the connector workers last recorded. */
export class ChannelOverview {
  constructor(
    private readonly db: Database,
    private readonly modes: Readonly<Record<ExternalChannel, ChannelMode>>,
    private readonly connectors: readonly Connector[],
  ) {}

  async list(): Promise<ChannelStatus[]> {
    const health = await channelHealth(this.db);
    return CHANNELS.map((channel) => ({
      channel,
      mode: this.modes[channel],
      capabilities: this.connectors.find((c) => c.channel === channel)?.capabilities ?? {},
      health: health[channel],
    }));
  }
}
