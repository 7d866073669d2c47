/**
 * The event log's topics and the record each one carries: the one map of the delivery pipeline's
 * hand-overs. `EventLog<LogTopics>` checks every publish and subscription against it.
 */
import type { ExternalChannel } from './message.ts';

/** An accepted message, keyed by conversation so that the router sees each conversation in seq order. */
export interface MessageAccepted { message_id: string; conversation_id: number; seq: number }

/** One attempt at delivering a message to an external channel, keyed by message. */
export interface ChannelWork { message_id: string; channel: ExternalChannel; attempt: number }

/** What a connector reported for one delivery. */
export interface ChannelOutcome { message_id: string; channel: ExternalChannel; status: 'delivered' | 'failed'; error?: string; external_id?: string }

/** A delivery given up after its retries (for consumers outside Chat4All: alerting, audits). */
export interface DeadLettered { message_id: string; channel: ExternalChannel; reason: string; attempts: number }

export type ChannelTopic = `channel.${ExternalChannel}`;

export type LogTopics = {
  messages: MessageAccepted;
  status: ChannelOutcome;
  'dead-letters': DeadLettered;
} & { [T in ChannelTopic]: ChannelWork };

export type LogTopic = keyof LogTopics;

export const MESSAGES_TOPIC = 'messages' satisfies LogTopic;
export const STATUS_TOPIC = 'status' satisfies LogTopic;
export const DEAD_LETTER_TOPIC = 'dead-letters' satisfies LogTopic;
export const channelTopic = (c: ExternalChannel): ChannelTopic => `channel.${c}`;
