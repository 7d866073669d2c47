/** Role `push`: accepted messages from the `messages` topic (its own consumer group) → PushDispatcher. */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import { MESSAGES_TOPIC } from '../domain/log-topics.ts';
import type { PushDispatcher } from '../app/push/push-dispatcher.ts';
import type { Logger } from '../app/logger.ts';
import { consume } from './consume.ts';

export function startPush(log: EventLog, dispatcher: PushDispatcher, logger: Logger): Promise<Subscription> {
  return consume(log, logger, 'push', [MESSAGES_TOPIC], (records) => dispatcher.dispatch(records));
}
