import { randomUUID } from 'node:crypto';
import { ConnectorError, type Connector, type ConnectorCapabilities, type OutboundMessage, type SendResult } from '../../ports/connector.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { CAPABILITIES } from './capabilities.ts';

export interface MockLog {
  info(obj: object, msg?: string): void;
}

/**
 * Simulates a remote platform: waits `latencyMs` (±50 %), fails with probability `failureRate`
 * (a retryable error), rejects texts over the platform's limit (a permanent error), and logs one
 * structured line per send. It has no webhooks, so a success reports the delivery at once.
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
}
