/** Opens ioredis connections for the Redis adapters (fan-out, rate limits, socket registry) and `chat4all doctor`. */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../app/logger.ts';

export interface RedisSettings {
  /** REDIS_URL; ignored when `sentinels` are given. */
  url?: string;
  /** REDIS_SENTINELS: ask these for the address of master `sentinelMaster` (and again after a failover). */
  sentinels?: { host: string; port: number }[];
  sentinelMaster?: string;
  /** REDIS_SENTINEL_PASSWORD: for the Sentinels themselves, when they require one. */
  sentinelPassword?: string;
  /** REDIS_PASSWORD; overrides a password in the URL. */
  password?: string;
  /** Namespace of every key and channel, e.g. "chat4all:". */
  keyPrefix: string;
}

/**
 * A connection named "<keyPrefix><role>" (so CLIENT LIST shows whose it is) that reconnects
 * forever (backoff up to 2 s) and logs state changes once each. Commands issued while
 * disconnected wait in ioredis' offline queue; callers bound their waits. A command that was in
 * flight when the connection dropped is not sent again unless `isResending`: Redis may have run it
 * already, and a second PUBLISH or INCR is worse than a lost one (clients repair losses with sync).
 */
export async function connectRedis(settings: RedisSettings, role: string, log: Logger, options: { isResending?: boolean } = {}): Promise<Redis> {
  // Connection names may not contain spaces.
  const name = `${settings.keyPrefix}${role}`.replace(/\s/g, '_');
  const clientOptions: RedisOptions = {
    ...(settings.password ? { password: settings.password } : {}),
    connectionName: name,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    autoResendUnfulfilledCommands: options.isResending ?? false,
    retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** attempt),
  };
  const client = redisClient(settings, clientOptions);
  let isDown = false;
  const lost = (e?: Error) => {
    if (!isDown) log.warn({ ...(e ? { err: e } : {}), connection: name }, 'Redis connection lost; reconnecting');
    isDown = true;
  };
  // Without an 'error' listener ioredis prints every failed reconnect; one warning per outage is
  // enough. A quick restart may give no error at all, only a reconnect: that is an outage too.
  client.on('error', lost);
  client.on('reconnecting', () => lost());
  client.on('ready', () => {
    if (isDown) log.info({ connection: name }, 'Redis connection restored');
    isDown = false;
  });
  // Through Sentinels, connect() keeps retrying when none knows the master; the first failure
  // ends the start instead, as a refused connection to REDIS_URL does.
  let onError: (e: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => client.once('error', (onError = reject)));
  try {
    await Promise.race([client.connect(), failed]);
  } catch (e) {
    client.disconnect();
    throw e;
  } finally {
    client.off('error', onError);
  }
  return client;
}

/** One client for `settings`: through the Sentinels when there are any, else at the URL. */
export function redisClient(settings: RedisSettings, options: RedisOptions): Redis {
  if (settings.sentinels && settings.sentinels.length > 0) {
    return new Redis({
      // Sentinels are asked again whenever the master is lost; keep asking at the same pace.
      sentinelRetryStrategy: (attempt) => Math.min(2000, 50 * 2 ** attempt),
      // After a failover the old master may answer as a replica for a moment: reconnect (to the new one).
      reconnectOnError: (e) => e.message.startsWith('READONLY'),
      ...options,
      sentinels: settings.sentinels,
      name: settings.sentinelMaster ?? 'mymaster',
      ...(settings.sentinelPassword ? { sentinelPassword: settings.sentinelPassword } : {}),
    });
  }
  if (!settings.url) throw new Error('Redis needs REDIS_URL or REDIS_SENTINELS');
  return new Redis(settings.url, options);
}

/** Where `settings` point, for logs and `chat4all doctor` (no password). */
export function redisTarget(settings: RedisSettings): string {
  if (settings.sentinels?.length)
    return `sentinel ${settings.sentinelMaster ?? 'mymaster'} @ ${settings.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  return (settings.url ?? '').replace(/\/\/([^@/]*)@/, '//');
}

/** Closes politely (QUIT), or drops the connection when Redis does not answer. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
  await Promise.race([client.quit().catch(() => undefined), timeout]);
  clearTimeout(timer);
  client.disconnect();
}

/** Rejects when `work` has not settled within `ms` (ioredis would otherwise wait for a reconnect). */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
