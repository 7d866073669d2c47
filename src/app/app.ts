import type { Database } from '../ports/database.ts';
import type { EventLog } from '../ports/event-log.ts';
import type { Auth } from './auth.ts';
import type { Apps } from './apps.ts';
import type { Users } from './users.ts';
import type { Conversations } from './conversations.ts';
import type { Groups } from './groups.ts';
import type { Messages } from './messages.ts';
import type { LiveSessions } from './live/live-sessions.ts';
import type { MessageChanges } from './message-changes.ts';
import type { Search } from './search.ts';
import type { Presence } from './live/presence.ts';
import type { Typing } from './live/typing.ts';
import type { Receipts } from './receipts.ts';
import type { DeliveryStages } from './delivery/stages.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { Notifier } from './notify.ts';
import type { FileServices } from './files/services.ts';
import type { Logger } from './logger.ts';
import type { Contacts } from './channels/contacts.ts';
import type { WebhookIntake } from './channels/webhook-intake.ts';
import type { ChannelOverview } from './channels/channel-overview.ts';
import type { RequestLimits } from './request-limits.ts';
import type { PushSubscriptions } from './push/push-subscriptions.ts';
import type { ConversationSettings } from './conversation-settings.ts';
import type { WebhookEndpoints } from './webhooks/endpoints.ts';

/** A dependency the readiness probe checks. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Everything the transports (HTTP, WebSocket, workers, CLI) use; built by src/compose.ts. */
export interface App {
  readonly logger: Logger;
  /** Raw port, not a use case: the integration tests read and age rows through it; nothing in src/ uses it. */
  readonly db: Database;
  /** Raw port, not a use case: the worker pipeline (src/workers/) subscribes each role to its topics on it. */
  readonly eventLog: EventLog;
  /** Per-caller request limits (the HTTP rate-limit hook). */
  readonly requestLimits: RequestLimits;
  readonly auth: Auth;
  /** Apps (bots, integrations) and their API keys. */
  readonly apps: Apps;
  readonly users: Users;
  readonly conversations: Conversations;
  /** Group members, roles and settings. */
  readonly groups: Groups;
  readonly messages: Messages;
  /** Live subscriptions of connected clients (WebSocket sessions) to fan-out topics. */
  readonly live: LiveSessions;
  /** Reactions, edits, deletion and catching up on them. */
  readonly messageChanges: MessageChanges;
  /** Full-text search over the caller's messages. */
  readonly search: Search;
  /** Who is online, last seen, and the presence frames of transitions. */
  readonly presence: Presence;
  /** Typing indicators (never stored). */
  readonly typing: Typing;
  /** People on external platforms (channel conversations). */
  readonly contacts: Contacts;
  /** Stores verified inbound webhook events. */
  readonly webhooks: WebhookIntake;
  /** Each external channel's mode, capabilities and health. */
  readonly channels: ChannelOverview;
  /** Outbound webhook endpoints of users and apps, and their deliveries. */
  readonly webhookEndpoints: WebhookEndpoints;
  readonly receipts: Receipts;
  /** The pipeline's stages, which workers/ runs by role. */
  readonly delivery: DeliveryStages;
  readonly deadLetters: DeadLetters;
  readonly notifier: Notifier;
  /** Uploads (chunk API and tus), downloads and the upload garbage collector. */
  readonly files: FileServices;
  /** Browsers' Web Push subscriptions and the VAPID public key. */
  readonly pushSubscriptions: PushSubscriptions;
  /** A member's own settings of a conversation (mute). */
  readonly conversationSettings: ConversationSettings;
  readonly readiness: readonly ReadinessCheck[];
  /** Closes every adapter; idempotent. */
  close(): Promise<void>;
}
