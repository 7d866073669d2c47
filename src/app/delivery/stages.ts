/**
 * The delivery pipeline, one use case per stage: outbox relay → router → channel sender → status
 * applier; inbound webhook events → messages and statuses; plus recovery and housekeeping. Every stage is idempotent, so the at-least-once event
 * log may repeat any of them. workers/<role>.ts runs each one.
 */
import type { Database } from '../../ports/database.ts';
import type { EventLog } from '../../ports/event-log.ts';
import type { Connector } from '../../ports/connector.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import type { Notifier } from '../notify.ts';
import type { Logger } from '../logger.ts';
import { OutboxRelay } from './outbox-relay.ts';
import type { OutboxSignal } from './outbox-signal.ts';
import { MessageRouter } from './message-router.ts';
import { ChannelSender, type DeliverySettings, type OutboundFileSource } from './channel-sender.ts';
import { InboundProcessor, type InboundContent } from './inbound-processor.ts';
import type { ChannelInbox } from '../channels/inbox.ts';
import { ContactChanges } from '../channels/contact-changes.ts';
import { StatusApplier } from './status-applier.ts';
import { Recovery } from './recovery.ts';
import { Housekeeping } from './housekeeping.ts';
import type { PushDispatcher } from '../push/push-dispatcher.ts';
import type { WebhookDispatcher } from '../webhooks/dispatcher.ts';

export type { DeliverySettings } from './channel-sender.ts';

export interface DeliveryStages {
  relay: OutboxRelay;
  /** Outbox rows committed by another process (PostgreSQL NOTIFY): wakes the relay. */
  outboxSignal: OutboxSignal;
  router: MessageRouter;
  sender: ChannelSender;
  statuses: StatusApplier;
  inbound: InboundProcessor;
  recovery: Recovery;
  housekeeping: Housekeeping;
  /** Web Push notifications (role `push`); undefined when push is off. */
  push?: PushDispatcher;
  /** Outbound webhooks (role `webhooks`). */
  webhooks: WebhookDispatcher;
}

export function createDeliveryStages(deps: {
  db: Database;
  log: EventLog;
  notify: Notifier;
  connectors: readonly Connector[];
  settings: DeliverySettings;
  logger: Logger;
  inbox: ChannelInbox;
  contentOf: InboundContent;
  fileOf?: OutboundFileSource;
  outboxSignal: OutboxSignal;
  webhooks: WebhookDispatcher;
}): DeliveryStages {
  const { db, log, notify, settings } = deps;
  const connectors = new Map<ExternalChannel, Connector>(deps.connectors.map((c) => [c.channel, c]));
  return {
    relay: new OutboxRelay(db, log),
    outboxSignal: deps.outboxSignal,
    router: new MessageRouter(db, log, notify, settings.leaseMs),
    sender: new ChannelSender(db, log, connectors, settings, deps.logger, deps.fileOf),
    statuses: new StatusApplier(db, notify),
    inbound: new InboundProcessor(db, log, deps.inbox, deps.contentOf, deps.logger, new ContactChanges(db, notify, deps.logger)),
    recovery: new Recovery(db, log, settings.leaseMs),
    housekeeping: new Housekeeping(db),
    webhooks: deps.webhooks,
  };
}
