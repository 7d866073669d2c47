import { randomUUID } from 'node:crypto';
import {
  ConnectorError,
  type Connector,
  type ConnectorCapabilities,
  type OutboundMessage,
  type PlatformMessageRef,
  type SendResult,
} from '../../ports/connector.ts';
import { allowedEmoji } from '../../domain/message-changes.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { CAPABILITIES } from './capabilities.ts';

export interface MockLog {
  info(obj: object, msg?: string): void;
}

/**
 * Simulates a remote platform: waits `latencyMs` (±50 %), fails with probability `failureRate`
 * (a retryable error), rejects texts over the platform's limit (a permanent error), and logs one
 * structured line per send. It has no webhooks, so a success reports the delivery at once.
 * Edits, deletions and reactions are simulated the same way, each only where the platform's
 * capability flag says the live connector relays it (so embedded mode answers like live mode).
 */
export class MockConnector implements Connector {
  readonly mode = 'mock' as const;
  readonly capabilities: ConnectorCapabilities;

  constructor(
    readonly channel: ExternalChannel,
    private readonly latencyMs: number,
    private readonly failureRate: number,
    private readonly log: MockLog,
  ) {
    this.capabilities = CAPABILITIES[channel];
  }

  async send(m: OutboundMessage): Promise<SendResult> {
    const latency = this.latencyMs * (0.5 + Math.random());
    await new Promise((r) => setTimeout(r, latency));
    if (m.payload.type === 'text' && m.payload.content.length > this.capabilities.max_text_length) {
      this.log.info({ channel: this.channel, message_id: m.messageId, attempt: m.attempt, outcome: 'rejected' }, 'mock connector send');
      throw new ConnectorError(`${this.channel} rejects texts over ${this.capabilities.max_text_length} characters`, 'invalid-request');
    }
    if (Math.random() < this.failureRate) {
      this.log.info(
        { channel: this.channel, message_id: m.messageId, attempt: m.attempt, outcome: 'failed', latency_ms: Math.round(latency) },
        'mock connector send',
      );
      throw new ConnectorError(`${this.channel} platform unavailable (simulated)`, 'unavailable');
    }
    const externalId = `${this.channel}-${randomUUID()}`;
    this.log.info(
      {
        channel: this.channel,
        message_id: m.messageId,
        to: m.to,
        attempt: m.attempt,
        outcome: 'delivered',
        external_id: externalId,
        latency_ms: Math.round(latency),
      },
      'mock connector send',
    );
    return { externalId, status: 'delivered' };
  }

  editText(ref: PlatformMessageRef, content: string): Promise<void> {
    return this.change('edit', ref, 'edits', () => {
      if (content.length > this.capabilities.max_text_length)
        throw new ConnectorError(`${this.channel} rejects texts over ${this.capabilities.max_text_length} characters`, 'invalid-request');
    });
  }

  deleteMessage(ref: PlatformMessageRef): Promise<void> {
    return this.change('delete', ref, 'deletes');
  }

  setReaction(ref: PlatformMessageRef, emoji: string | undefined): Promise<void> {
    return this.change(emoji === undefined ? 'unreact' : 'react', ref, 'reactions', () => {
      const allowed = this.capabilities.reaction_emoji;
      if (emoji !== undefined && allowed && !allowedEmoji(allowed, emoji))
        throw new ConnectorError(`${this.channel} does not take ${emoji} as a reaction`, 'invalid-request');
    });
  }

  /** One simulated change: latency, the platform's refusal of what it does not support, the failure rate, one log line. */
  private async change(kind: string, ref: PlatformMessageRef, feature: 'edits' | 'deletes' | 'reactions', check?: () => void): Promise<void> {
    const latency = this.latencyMs * (0.5 + Math.random());
    await new Promise((r) => setTimeout(r, latency));
    const line = { channel: this.channel, message_id: ref.messageId, external_id: ref.externalId, kind, latency_ms: Math.round(latency) };
    try {
      if (this.capabilities[feature] !== true) throw new ConnectorError(`${this.channel} has no ${feature}`, 'invalid-request');
      check?.();
      if (Math.random() < this.failureRate) throw new ConnectorError(`${this.channel} platform unavailable (simulated)`, 'unavailable');
    } catch (e) {
      this.log.info({ ...line, outcome: 'failed' }, 'mock connector change');
      throw e;
    }
    this.log.info({ ...line, outcome: 'applied' }, 'mock connector change');
  }
}
