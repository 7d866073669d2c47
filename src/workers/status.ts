/** Role `status`: channel outcomes from the `status` topic → StatusApplier. */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import { STATUS_TOPIC } from '../domain/log-topics.ts';
import type { StatusApplier } from '../app/delivery/status-applier.ts';
import type { Logger } from '../app/logger.ts';
import { consume } from './consume.ts';

export function startStatus(log: EventLog, statuses: StatusApplier, logger: Logger): Promise<Subscription> {
  return consume(log, logger, 'status', [STATUS_TOPIC], (records) => statuses.apply(records));
}
