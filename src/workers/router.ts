/** Role `router`: accepted messages from the `messages` topic → MessageRouter. */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import { MESSAGES_TOPIC } from '../domain/log-topics.ts';
import type { MessageRouter } from '../app/delivery/message-router.ts';
import type { Logger } from '../app/logger.ts';
import { consume } from './consume.ts';

export function startRouter(log: EventLog, router: MessageRouter, logger: Logger): Promise<Subscription> {
  return consume(log, logger, 'router', [MESSAGES_TOPIC], (records) => router.route(records));
}
