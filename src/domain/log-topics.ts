/**
 * The event log's topics and the record each one carries: the one map of the delivery pipeline's
 * hand-overs. `EventLog<LogTopics>` checks every publish and subscription against it.
 */
import type { ExternalChannel } from './message.ts';

/** An accepted message, keyed by conversation so that the router sees each conversation in seq order. */
export interface MessageAccepted {
  message_id: string;
  conversation_id: number;
  seq: number;
}

/**
 * One attempt at delivering a message to an external channel, keyed by message; with `change_id`,
 * one attempt at relaying a change of it (edit, deletion, reaction: message_channel_changes).
 */
export interface ChannelWork {
  message_id: string;
  channel: ExternalChannel;
  attempt: number;
  change_id?: number;
}

/** What a connector, or later the platform's webhook, reported for one delivery; statuses only move forward. */
export interface ChannelOutcome {
  message_id: string;
  channel: ExternalChannel;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  external_id?: string;
  error?: string;
  /** The platform's error code and our class of it (ConnectorErrorClass), for a failure. */
  provider_code?: string;
  error_class?: string;
}

/** A verified webhook event stored in webhook_events, keyed by the contact so that one person's events stay in order. */
export interface InboundReceived {
  webhook_event_id: number;
  channel: ExternalChannel;
}

/** A delivery given up after its retries (for consumers outside Chat4All: alerting, audits). */
export interface DeadLettered {
  message_id: string;
  channel: ExternalChannel;
  reason: string;
  attempts: number;
}

/**
 * An event for outbound webhooks (docs/integrations.md), keyed by conversation (or `u:<user id>`)
 * so that one conversation's events stay in order. `endpoint_ids` are the endpoints whose owners
 * were members when the event happened. `data_from_message`: the data is that message's view,
 * read by the webhook worker (keeps the hot accept statement small).
 */
export interface WebhookEventRecorded {
  id: string;
  type: string;
  order_key: string;
  occurred_at: string;
  endpoint_ids: number[];
  data?: Record<string, unknown>;
  data_from_message?: string;
}

export type ChannelTopic = `channel.${ExternalChannel}`;

export type LogTopics = {
  messages: MessageAccepted;
  status: ChannelOutcome;
  'dead-letters': DeadLettered;
  inbound: InboundReceived;
  webhooks: WebhookEventRecorded;
} & { [T in ChannelTopic]: ChannelWork };

export type LogTopic = keyof LogTopics;

export const MESSAGES_TOPIC = 'messages' satisfies LogTopic;
export const STATUS_TOPIC = 'status' satisfies LogTopic;
export const DEAD_LETTER_TOPIC = 'dead-letters' satisfies LogTopic;
export const INBOUND_TOPIC = 'inbound' satisfies LogTopic;
export const WEBHOOKS_TOPIC = 'webhooks' satisfies LogTopic;
export const channelTopic = (c: ExternalChannel): ChannelTopic => `channel.${c}`;
