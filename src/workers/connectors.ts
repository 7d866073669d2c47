/** Role `connectors`: work items from the `channel.<name>` topics → ChannelSender. */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import { CHANNELS } from '../domain/message.ts';
import { channelTopic } from '../domain/log-topics.ts';
import type { ChannelSender } from '../app/delivery/channel-sender.ts';
import type { Logger } from '../app/logger.ts';
import { consume } from './consume.ts';

export function startConnectors(log: EventLog, sender: ChannelSender, logger: Logger): Promise<Subscription> {
  return consume(log, logger, 'connectors', CHANNELS.map(channelTopic), (records) => sender.deliver(records));
}
