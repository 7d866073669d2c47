/** Role `inbound`: stored webhook events from the `inbound` topic → InboundProcessor. */
import type { EventLog, Subscription } from '../ports/event-log.ts';
import { INBOUND_TOPIC } from '../domain/log-topics.ts';
import type { InboundProcessor } from '../app/delivery/inbound-processor.ts';
import type { Logger } from '../app/logger.ts';
import { consume } from './consume.ts';

export function startInbound(log: EventLog, inbound: InboundProcessor, logger: Logger): Promise<Subscription> {
  return consume(log, logger, 'inbound', [INBOUND_TOPIC], (records) => inbound.process(records));
}
