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
import type { Revocation } from './app/revocations.ts';
import { Users } from './app/users.ts';
import { Conversations } from './app/conversations.ts';
import { Groups } from './app/groups.ts';
import { Instance } from './app/instances.ts';
import { Messages } from './app/messages.ts';
import { Receipts } from './app/receipts.ts';
import { createDeliveryStages } from './app/delivery/stages.ts';
import { MESSAGES_TOPIC, STATUS_TOPIC, DEAD_LETTER_TOPIC, INBOUND_TOPIC, channelTopic, type LogTopics } from './domain/log-topics.ts';
import { DeadLetters } from './app/dead-letters.ts';
import { Notifier } from './app/notify.ts';
import { LiveSessions } from './app/live/live-sessions.ts';
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
  if (config.store.url) {
    // Loaded only when configured (here and for S3, Kafka and Redis): the embedded process does not carry their modules.
    const { PostgresDatabase } = await import('./adapters/store/postgres.ts');
    const db = new PostgresDatabase(config.store.url, config.store.poolSize, (e) => logger.warn({ err: e }, 'idle database connection lost'), onTransaction);
    reportPoolStats(() => db.poolStats);
    return db;
  }
  const dir = path.join(config.dataDir, 'db');
  await mkdir(dir, { recursive: true });
  // One process per DATA_DIR: a CLI command beside a running server would write where nobody reads.
  return PgliteDatabase.open(dir, { lockFile: path.join(config.dataDir, 'db.lock'), onTransaction });
}

/** S3 when S3_BUCKET (or MINIO_BUCKET) is set, else files under DATA_DIR/blobs. */
export async function openBlobStore(config: Config, logger: Logger): Promise<BlobStore> {
  if (config.s3.bucket) {
    const { S3BlobStore } = await import('./adapters/blobs/s3.ts');
    return new S3BlobStore({ ...config.s3, bucket: config.s3.bucket });
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
    fanout: config.redis.url ? 'redis' : 'memory',
    rateLimiter: config.redis.url ? 'redis' : 'memory',
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
  const receipts = new Receipts(db, notifier, (e) => logger.warn({ err: e }, 'acks could not be applied; clients ack again with their next frames'));
  const { connectors, modes } = openConnectors(config, logger);
  const conversations = new Conversations(db, notifier, config.limits.maxGroupMembers);
  const instance = await Instance.register(db, logger.child({ component: 'files' }));
  const files = createFileServices(db, blobs, { maxUploadBytes: config.limits.maxUploadBytes, retentionHours: config.gc.retentionHours }, logger, instance.id);
  const inbox = new ChannelInbox(db, notifier, config.channels.agents, logger.child({ component: 'worker.inbound' }), options.onAccepted);
  const media = new ChannelMediaImport(
    db,
    blobs,
    connectors,
    { maxBytes: config.channels.maxInboundMediaBytes },
    logger.child({ component: 'worker.inbound' }),
  );
  const delivery = createDeliveryStages({
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
  });

  const enabled = new Set<ExternalChannel>(CHANNELS.filter((c) => modes[c] !== 'disabled'));
  const targets = new ChannelTargets(enabled, config.channels.windowHours);

  const readiness: ReadinessCheck[] = [
    { name: 'database', check: () => db.ping() },
    { name: 'blobs', check: () => blobs.ping() },
    { name: 'event_log', check: () => eventLog.ping() },
    { name: 'fanout', check: () => fanout.ping() },
  ];
  const messages = new Messages(db, notifier, receipts, config.limits.maxTextLength, targets, files.resolveFile, options.onAccepted);
  const requestLimits = new RequestLimits(rateLimiter);
  let closing: Promise<void> | undefined;
  return {
    logger,
    db,
    eventLog,
    requestLimits,
    auth,
    users: new Users(db),
    conversations,
    groups: new Groups(db, notifier, conversations, config.limits.maxGroupMembers),
    messages,
    live: new LiveSessions({
      fanout,
      sockets,
      conversations,
      messages,
      receipts,
      maxPerUser: config.limits.wsMaxPerUser,
      sendLimit: config.rateLimit.enabled ? { limits: requestLimits, perMinute: config.rateLimit.perMinute.send } : undefined,
      logger: logger.child({ component: 'ws' }),
    }),
    contacts: new Contacts(db),
    webhooks: new WebhookIntake(db, options.onAccepted),
    channels: new ChannelOverview(db, modes, connectors),
    receipts,
    delivery,
    deadLetters: new DeadLetters(db),
    notifier,
    files,
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

/** Every instance learns of a revoked token or family at once through the fan-out. */
function announceRevocation(fanout: Fanout, logger: Logger) {
  // Awaited by Auth, so that the revoke answer comes after the other instances were told.
  return (r: Revocation) =>
    fanout
      .publish(REVOCATIONS_TOPIC, r.kind === 'token' ? { jti: r.id, expires_at: r.expiresAt } : { family_id: r.id, expires_at: r.expiresAt })
      .catch((e: unknown) => logger.warn({ err: e }, 'revocation announcement failed; other instances refuse the token after their next reload'));
}

async function hearRevocations(auth: Auth, fanout: Fanout): Promise<void> {
  await fanout.subscribe(REVOCATIONS_TOPIC, (event) => {
    if (typeof event.expires_at !== 'number') return;
    if (typeof event.jti === 'string') auth.rememberRevoked({ kind: 'token', id: event.jti, expiresAt: event.expires_at });
    else if (typeof event.family_id === 'string') auth.rememberRevoked({ kind: 'family', id: event.family_id, expiresAt: event.expires_at });
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
                topics: [MESSAGES_TOPIC, ...CHANNELS.map(channelTopic), STATUS_TOPIC, DEAD_LETTER_TOPIC, INBOUND_TOPIC],
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
    const redis = config.redis.url ? { url: config.redis.url, password: config.redis.password, keyPrefix: config.redis.keyPrefix } : undefined;
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
