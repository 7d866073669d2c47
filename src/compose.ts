/** The composition root: Config → adapters → App. The only module that imports adapters/. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config.ts';
import type { Database } from './ports/database.ts';
import type { App, ReadinessCheck } from './app/app.ts';
import type { Logger } from './app/logger.ts';
import { PgliteDatabase } from './adapters/store/pglite.ts';
import { migrate } from './adapters/store/migrate.ts';
import { MemoryEventLog } from './adapters/log/memory.ts';
import { MemoryFanout } from './adapters/fanout/memory.ts';
import { MemoryRateLimiter } from './adapters/ratelimit/memory.ts';
import { MemorySocketRegistry } from './adapters/presence/memory.ts';
import type { EventLog } from './ports/event-log.ts';
import type { Fanout } from './ports/fanout.ts';
import type { RateLimiter } from './ports/rate-limiter.ts';
import type { SocketRegistry } from './ports/presence.ts';
import { FsBlobStore } from './adapters/blobs/fs.ts';
import type { BlobStore } from './ports/blob-store.ts';
import { createFileServices } from './app/files/services.ts';
import { UploadCollector } from './app/files/collector.ts';
import { Auth } from './app/auth.ts';
import { Apps } from './app/apps.ts';
import type { Revocation } from './app/revocations.ts';
import { Users } from './app/users.ts';
import { Conversations } from './app/conversations.ts';
import { Groups } from './app/groups.ts';
import { Instance } from './app/instances.ts';
import { Messages } from './app/messages.ts';
import { MessageChanges } from './app/message-changes.ts';
import { Search } from './app/search.ts';
import { Receipts } from './app/receipts.ts';
import { createDeliveryStages } from './app/delivery/stages.ts';
import { OutboxSignal } from './app/delivery/outbox-signal.ts';
import { MESSAGES_TOPIC, STATUS_TOPIC, DEAD_LETTER_TOPIC, INBOUND_TOPIC, WEBHOOKS_TOPIC, channelTopic, type LogTopics } from './domain/log-topics.ts';
import { DeadLetters } from './app/dead-letters.ts';
import { Notifier } from './app/notify.ts';
import { LiveSessions } from './app/live/live-sessions.ts';
import { Presence } from './app/live/presence.ts';
import { Typing } from './app/live/typing.ts';
import { RequestLimits } from './app/request-limits.ts';
import { ChannelOverview } from './app/channels/channel-overview.ts';
import { CHANNELS, type ExternalChannel } from './domain/message.ts';
import { openConnectors } from './compose-channels.ts';
import { ChannelTargets } from './app/channels/channel-targets.ts';
import { ChannelInbox } from './app/channels/inbox.ts';
import { Contacts } from './app/channels/contacts.ts';
import { WebhookIntake } from './app/channels/webhook-intake.ts';
import { inboundContent } from './app/channels/inbound-content.ts';
import { ChannelMediaImport } from './app/channels/media-import.ts';
import { metrics, reportPoolStats } from './metrics.ts';
import { WebPushSender, generateVapidKeys, type VapidKeys } from './adapters/push/web-push.ts';
import { PushSubscriptions } from './app/push/push-subscriptions.ts';
import { PushDispatcher } from './app/push/push-dispatcher.ts';
import { ConversationSettings } from './app/conversation-settings.ts';

/** `chat4all doctor`'s reachability probes, one per configured service. */
export { serviceProbes } from './adapters/probes.ts';
import { HttpWebhookTransport } from './adapters/webhooks/http.ts';
import { WebhookDispatcher } from './app/webhooks/dispatcher.ts';
import { WebhookEndpoints } from './app/webhooks/endpoints.ts';

export interface ComposeOptions {
  /** Run migrations while opening (default true). */
  isMigrating?: boolean;
  /** Seconds a claimed channel delivery may take before it is handed out again. */
  deliveryLeaseMs?: number;
  /** Called after each accepted message (main.ts wakes this process's outbox relay). */
  onAccepted?: () => void;
}

/** Opens the database chosen by the config (PGlite under DATA_DIR/db unless DATABASE_URL). */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const onTransaction = (name: string, seconds: number) => metrics.dbTransactionDuration.observe({ name }, seconds);
  const onQuery = (operation: string, seconds: number) => metrics.dbQueryDuration.observe({ operation }, seconds);
  if (config.store.url) {
    const onError = (e: Error) => logger.warn({ err: e }, 'idle database connection lost');
    // Loaded only when configured (here and for S3, Kafka and Redis): the embedded process does not carry their modules.
    const { PostgresDatabase } = await import('./adapters/store/postgres.ts');
    const db = new PostgresDatabase(config.store.url, config.store.poolSize, onError, onTransaction, onQuery);
    reportPoolStats(() => db.poolStats);
    return db;
  }
  const dir = path.join(config.dataDir, 'db');
  await mkdir(dir, { recursive: true });
  // One process per DATA_DIR: a CLI command beside a running server would write where nobody reads.
  return PgliteDatabase.open(dir, { lockFile: path.join(config.dataDir, 'db.lock'), onTransaction, onQuery });
}

/** S3 when S3_BUCKET (or MINIO_BUCKET) is set, else files under DATA_DIR/blobs. */
export async function openBlobStore(config: Config, logger: Logger): Promise<BlobStore> {
  if (config.s3.bucket) {
    const { S3BlobStore } = await import('./adapters/blobs/s3.ts');
    const store = new S3BlobStore({ ...config.s3, bucket: config.s3.bucket });
    try {
      if (config.s3.createBucket && (await store.ensureBucket(config.s3.region))) logger.info({ bucket: config.s3.bucket }, 'S3 bucket created');
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }
  const dir = path.join(config.dataDir, 'blobs');
  // Durable, but one machine's disk: API replicas behind a load balancer must share S3.
  if (!config.isEmbedded) logger.warn({ dir }, "files are stored on this machine's disk: set S3_BUCKET when running several API instances");
  return FsBlobStore.open(dir);
}

/**
 * What `chat4all users` and `chat4all dlq` need and nothing more: the (migrated) database and the
 * use cases on it. No event log, fan-out or blob store is opened: a replayed dead letter is
 * handed out by the running workers' scheduler from the database.
 */
export async function openAdminServices(
  config: Config,
  logger: Logger,
): Promise<{ auth: Auth; users: Users; deadLetters: DeadLetters; close(): Promise<void> }> {
  const db = await openDatabase(config, logger);
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  // Registration by an operator: no sign-in happens here, so the login throttle needs no shared store.
  const auth = new Auth(db, { ...config.auth, loginThrottle: config.loginThrottle }, new MemoryRateLimiter());
  return { auth, users: new Users(db), deadLetters: new DeadLetters(db), close: () => db.close() };
}

/** What `chat4all gc` needs and nothing more: the database and the file storage. */
export async function openUploadCollector(config: Config, logger: Logger): Promise<{ collector: UploadCollector; close(): Promise<void> }> {
  const db = await openDatabase(config, logger);
  try {
    const blobs = await openBlobStore(config, logger);
    return { collector: new UploadCollector(db, blobs, logger.child({ component: 'gc' })), close: async () => (await blobs.close(), await db.close()) };
  } catch (e) {
    await db.close();
    throw e;
  }
}

export async function runMigrations(db: Database): Promise<string[]> {
  return migrate(db);
}

export async function compose(config: Config, logger: Logger, options: ComposeOptions = {}): Promise<App> {
  const db = await openDatabase(config, logger);
  try {
    if (options.isMigrating ?? true) {
      const applied = await migrate(db);
      if (applied.length) logger.info({ applied }, 'database migrated');
    }
    return await assemble(config, logger, db, options);
  } catch (e) {
    await db.close();
    throw e;
  }
}

async function assemble(config: Config, logger: Logger, db: Database, options: ComposeOptions): Promise<App> {
  const blobs = await openBlobStore(config, logger);
  let messaging: Awaited<ReturnType<typeof openMessaging>>;
  try {
    messaging = await openMessaging(config, logger);
  } catch (e) {
    await blobs.close().catch(() => undefined);
    throw e;
  }
  const { eventLog, fanout, rateLimiter, sockets } = messaging;
  const adapters = {
    database: db.kind,
    eventLog: eventLog.isDurable ? 'kafka' : 'memory',
    fanout: isRedis(config) ? 'redis' : 'memory',
    rateLimiter: isRedis(config) ? 'redis' : 'memory',
    blobs: blobs.kind,
  };
  logger.info({ adapters }, 'adapters chosen');
  if (db.kind === 'pglite') logger.info({ dir: path.join(config.dataDir, 'db') }, 'embedded PGlite database');
  if (!eventLog.isDurable)
    logger.warn({}, 'in-process event log: in-flight events are re-created from the database after a restart (set KAFKA_BROKERS for a durable log)');

  const jwtSecret = config.auth.isEphemeralSecret ? await embeddedSecret(config.dataDir) : config.auth.jwtSecret;
  const notifier = new Notifier(fanout, logger.child({ component: 'fanout' }));
  const auth = new Auth(db, { ...config.auth, jwtSecret, loginThrottle: config.loginThrottle }, rateLimiter, announceRevocation(fanout, logger));
  await hearRevocations(auth, fanout);
  // With no relay in this process (options.onAccepted unset), commits announce outbox rows to the relay's process.
  const outboxSignal = new OutboxSignal(db, logger.child({ component: 'outbox' }));
  const onAccepted = options.onAccepted ?? (db.kind === 'postgres' ? () => outboxSignal.notify() : undefined);
  const receipts = new Receipts(db, notifier, (e) => logger.warn({ err: e }, 'acks could not be applied; clients ack again with their next frames'));
  const { connectors, modes } = openConnectors(config, logger);
  const conversations = new Conversations(db, notifier, config.limits.maxGroupMembers);
  const instance = await Instance.register(db, logger.child({ component: 'files' }));
  const files = createFileServices(db, blobs, { maxUploadBytes: config.limits.maxUploadBytes, retentionHours: config.gc.retentionHours }, logger, instance.id);
  const inbox = new ChannelInbox(db, notifier, config.channels.agents, logger.child({ component: 'worker.inbound' }), onAccepted);
  const media = new ChannelMediaImport(
    db,
    blobs,
    connectors,
    { maxBytes: config.channels.maxInboundMediaBytes },
    logger.child({ component: 'worker.inbound' }),
  );
  const webhookTransport = new HttpWebhookTransport();
  const delivery = createDeliveryStages({
    webhooks: new WebhookDispatcher(db, webhookTransport, config.webhooks, logger.child({ component: 'worker.webhooks' })),
    db,
    log: eventLog,
    notify: notifier,
    connectors,
    inbox,
    contentOf: inboundContent(media.importer),
    fileOf: (id) => files.downloads.outboundFile(id),
    settings: {
      maxAttempts: config.delivery.maxAttempts,
      backoffBaseMs: config.delivery.backoffBaseMs,
      leaseMs: options.deliveryLeaseMs ?? config.delivery.leaseMs,
    },
    logger: logger.child({ component: 'worker.delivery' }),
    outboxSignal,
  });

  const vapid = await vapidKeys(config, logger);
  const pushSender = vapid && new WebPushSender({ ...vapid, subject: config.push.subject });
  if (pushSender) delivery.push = new PushDispatcher(db, sockets, pushSender, logger.child({ component: 'worker.push' }));

  const enabled = new Set<ExternalChannel>(CHANNELS.filter((c) => modes[c] !== 'disabled'));
  const targets = new ChannelTargets(enabled, config.channels.windowHours);

  const readiness: ReadinessCheck[] = [
    { name: 'database', check: () => db.ping() },
    { name: 'blobs', check: () => blobs.ping() },
    { name: 'event_log', check: () => eventLog.ping() },
    { name: 'fanout', check: () => fanout.ping() },
  ];
  const messageChanges = new MessageChanges(db, notifier, {
    maxTextLength: config.limits.maxTextLength,
    editWindowSeconds: config.messages.editWindowSeconds,
    // Only what a connector relays: a disabled channel has none.
    channelSupports: (channel, feature) => connectors.find((c) => c.channel === channel)?.capabilities[feature] === true,
    channelReactionEmoji: (channel) => connectors.find((c) => c.channel === channel)?.capabilities.reaction_emoji,
    leaseMs: options.deliveryLeaseMs ?? config.delivery.leaseMs,
  });
  const messages = new Messages(
    db,
    notifier,
    receipts,
    config.limits.maxTextLength,
    targets,
    files.resolveFile,
    onAccepted,
    config.acceptBatch,
    (channel) => connectors.find((c) => c.channel === channel)?.capabilities.replies === true,
  );
  const presence = new Presence(db, sockets, notifier, logger.child({ component: 'presence' }));
  const requestLimits = new RequestLimits(rateLimiter);
  let closing: Promise<void> | undefined;
  return {
    logger,
    db,
    eventLog,
    requestLimits,
    auth,
    apps: new Apps(db, auth, config.apps),
    users: new Users(db),
    conversations,
    groups: new Groups(db, notifier, conversations, config.limits.maxGroupMembers),
    messages,
    messageChanges,
    search: new Search(db),
    live: new LiveSessions({
      fanout,
      sockets,
      conversations,
      messages,
      messageChanges,
      receipts,
      maxPerUser: config.limits.wsMaxPerUser,
      presence,
      sendLimit: config.rateLimit.enabled ? { limits: requestLimits, perMinute: config.rateLimit.perMinute.send } : undefined,
      logger: logger.child({ component: 'ws' }),
    }),
    presence,
    typing: new Typing(notifier),
    contacts: new Contacts(db),
    webhooks: new WebhookIntake(db, onAccepted),
    channels: new ChannelOverview(db, modes, connectors),
    webhookEndpoints: new WebhookEndpoints(db, webhookTransport, config.webhooks),
    receipts,
    delivery,
    deadLetters: new DeadLetters(db),
    notifier,
    files,
    pushSubscriptions: new PushSubscriptions(db, vapid?.publicKey, { isLoopbackHttpAllowed: config.push.isLoopbackHttpAllowed }),
    conversationSettings: new ConversationSettings(db),
    readiness,
    close: () =>
      (closing ??= (async () => {
        await receipts.drain();
        await eventLog.close();
        await fanout.close();
        await rateLimiter.close();
        await sockets.close();
        await blobs.close();
        await instance.close();
        await db.close();
      })()),
  };
}

/**
 * Every instance learns of a revoked access token or sign-in family at once through the fan-out:
 * `{jti, expires_at}` (the original form, still understood by older instances) or `{family_id, expires_at}`.
 */
const REVOCATIONS_TOPIC = 'auth.revocations';
/** The announcement's field per kind: `{jti}`, `{family_id}`, `{app_key_id}` or `{app_id}`, each with `expires_at`. */
const ANNOUNCED_FIELD: Record<Revocation['kind'], string> = { token: 'jti', family: 'family_id', 'app-key': 'app_key_id', app: 'app_id' };

/** Every instance learns of a revoked token or family at once through the fan-out. */
function announceRevocation(fanout: Fanout, logger: Logger) {
  // Awaited by Auth, so that the revoke answer comes after the other instances were told.
  return (r: Revocation) =>
    fanout
      .publish(REVOCATIONS_TOPIC, { [ANNOUNCED_FIELD[r.kind]]: r.id, expires_at: r.expiresAt })
      .catch((e: unknown) => logger.warn({ err: e }, 'revocation announcement failed; other instances refuse the token after their next reload'));
}

async function hearRevocations(auth: Auth, fanout: Fanout): Promise<void> {
  await fanout.subscribe(REVOCATIONS_TOPIC, (event) => {
    if (typeof event.expires_at !== 'number') return;
    for (const [kind, field] of Object.entries(ANNOUNCED_FIELD) as [Revocation['kind'], string][]) {
      const id = event[field];
      if (typeof id === 'string') return auth.rememberRevoked({ kind, id, expiresAt: event.expires_at });
    }
  });
}

/** Kafka when KAFKA_BROKERS is set, Redis when REDIS_URL is set; in-process adapters otherwise. */
async function openMessaging(
  config: Config,
  logger: Logger,
): Promise<{ eventLog: EventLog; fanout: Fanout; rateLimiter: RateLimiter; sockets: SocketRegistry }> {
  const opened: { close(): Promise<void> }[] = [];
  const keep = <T extends { close(): Promise<void> }>(adapter: T) => (opened.push(adapter), adapter);
  try {
    const eventLog =
      config.kafka.brokers.length > 0
        ? keep(
            await (
              await import('./adapters/log/kafka.ts')
            ).KafkaEventLog.open<LogTopics>(
              {
                ...config.kafka,
                topics: [MESSAGES_TOPIC, ...CHANNELS.map(channelTopic), STATUS_TOPIC, DEAD_LETTER_TOPIC, INBOUND_TOPIC, WEBHOOKS_TOPIC],
                onLag: ({ topic, partition, group, lag }) => {
                  const labels = { topic, partition: String(partition), group };
                  if (lag === undefined) metrics.consumerLag.remove(labels);
                  else metrics.consumerLag.set(labels, lag);
                },
              },
              logger.child({ component: 'kafka' }),
            ),
          )
        : keep(new MemoryEventLog<LogTopics>());
    const redis = isRedis(config) ? config.redis : undefined;
    const redisLog = logger.child({ component: 'redis' });
    const fanout = redis ? keep(await (await import('./adapters/fanout/redis.ts')).RedisFanout.open(redis, redisLog)) : keep(new MemoryFanout());
    const rateLimiter = redis
      ? keep(await (await import('./adapters/ratelimit/redis.ts')).RedisRateLimiter.open(redis, redisLog))
      : keep(new MemoryRateLimiter());
    const sockets = redis
      ? keep(await (await import('./adapters/presence/redis.ts')).RedisSocketRegistry.open(redis, redisLog))
      : keep(new MemorySocketRegistry());
    return { eventLog, fanout, rateLimiter, sockets };
  } catch (e) {
    await Promise.all(opened.map((a) => a.close().catch(() => undefined)));
    throw e;
  }
}

/**
 * The VAPID key pair: from the config; else, outside production, one generated and kept in
 * DATA_DIR/vapid.json (instances that share a database but not a DATA_DIR must set the keys, or
 * each would sign with its own); in production without keys, push is off.
 */
async function vapidKeys(config: Config, logger: Logger): Promise<VapidKeys | undefined> {
  if (config.push.vapid) return config.push.vapid;
  if (config.environment === 'production') {
    logger.warn({}, 'Web Push is off: set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT (npx web-push generate-vapid-keys) to notify offline users');
    return undefined;
  }
  const file = path.join(config.dataDir, 'vapid.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as VapidKeys;
  } catch {
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(generateVapidKeys()), { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    if (!config.isEmbedded)
      logger.warn({ file }, 'VAPID keys generated in DATA_DIR: set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY when instances do not share it');
    return JSON.parse(await readFile(file, 'utf8')) as VapidKeys;
  }
}

/** REDIS_URL or REDIS_SENTINELS is set. */
const isRedis = (config: Config) => !!config.redis.url || config.redis.sentinels.length > 0;

/** Embedded mode without JWT_SECRET_KEY: a random secret kept in DATA_DIR so tokens survive restarts. */
async function embeddedSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'jwt-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    await mkdir(dataDir, { recursive: true });
    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
    await writeFile(file, secret, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    return (await readFile(file, 'utf8')).trim();
  }
}
