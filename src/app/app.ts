import type { Database } from '../ports/database.ts';
import type { EventLog } from '../ports/event-log.ts';
import type { Fanout } from '../ports/fanout.ts';
import type { RateLimiter } from '../ports/rate-limiter.ts';
import type { Connector } from '../ports/connector.ts';
import type { SocketRegistry } from '../ports/presence.ts';
import type { Auth } from './auth.ts';
import type { Users } from './users.ts';
import type { Conversations } from './conversations.ts';
import type { Groups } from './groups.ts';
import type { Messages } from './messages.ts';
import type { MessageChanges } from './message-changes.ts';
import type { Search } from './search.ts';
import type { Receipts } from './receipts.ts';
import type { DeliveryStages } from './delivery/stages.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { Notifier } from './notify.ts';
import type { FileServices } from './files/services.ts';
import type { Logger } from './logger.ts';
import type { Contacts } from './channels/contacts.ts';
import type { WebhookIntake } from './channels/webhook-intake.ts';
import type { ChannelHealth } from './channels/channel-health.ts';
import type { ExternalChannel } from '../domain/message.ts';

/** A dependency the readiness probe checks. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Everything the transports (HTTP, WebSocket, workers, CLI) use; built by src/compose.ts. */
export interface App {
  readonly logger: Logger;
  readonly db: Database;
  readonly eventLog: EventLog;
  readonly fanout: Fanout;
  readonly rateLimiter: RateLimiter;
  /** WebSocket connections per user across every API instance (WS_MAX_PER_USER). */
  readonly sockets: SocketRegistry;
  readonly connectors: readonly Connector[];
  readonly auth: Auth;
  readonly users: Users;
  readonly conversations: Conversations;
  /** Group members, roles and settings. */
  readonly groups: Groups;
  readonly messages: Messages;
  /** Reactions, edits, deletion and catching up on them. */
  readonly messageChanges: MessageChanges;
  /** Full-text search over the caller's messages. */
  readonly search: Search;
  /** People on external platforms (channel conversations). */
  readonly contacts: Contacts;
  /** Stores verified inbound webhook events. */
  readonly webhooks: WebhookIntake;
  /** live (credentials set), mock (simulated) or disabled, per channel. */
  readonly channelModes: Readonly<Record<ExternalChannel, 'live' | 'mock' | 'disabled'>>;
  /** Last success, last error and consecutive failures per channel. */
  channelHealth(): Promise<Record<ExternalChannel, ChannelHealth>>;
  readonly receipts: Receipts;
  /** The pipeline's stages, which workers/ runs by role. */
  readonly delivery: DeliveryStages;
  readonly deadLetters: DeadLetters;
  readonly notifier: Notifier;
  /** Uploads (chunk API and tus), downloads and the upload garbage collector. */
  readonly files: FileServices;
  readonly readiness: readonly ReadinessCheck[];
  /** Closes every adapter; idempotent. */
  close(): Promise<void>;
}
