/**
 * `chat4all doctor`: can this process reach the database, Kafka, Redis and S3 it is configured
 * for, and what answers there. Each probe opens its own short-lived client with no retries and a
 * deadline, reads a version, and closes again; nothing is created or written.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Admin } from '@platformatic/kafka';
import pg from 'pg';
import type { Config } from '../config.ts';
import { DatabaseInUse } from '../ports/database.ts';
import { PgliteDatabase } from './store/pglite.ts';
import { S3BlobStore } from './blobs/s3.ts';
import { connectionOptions, kafkaFailureReason } from './log/kafka-connection.ts';
import { closeRedis, redisClient, redisTarget } from './redis-client.ts';

export type ServiceName = 'database' | 'kafka' | 'redis' | 's3';

export interface Probe {
  name: ServiceName;
  /** Where it looks, without credentials. */
  target: string;
  /** Resolves to what answered (versions); rejects with the reason it could not. */
  run(timeoutMs: number): Promise<string>;
  /** In this process (PGlite): slow to open on a busy machine, but nothing to wait for on a network. */
  isLocal?: boolean;
}

/** One probe per configured service (PGlite stands for the database in embedded mode); none for the others. */
export function serviceProbes(config: Config): { probes: Probe[]; unconfigured: { name: ServiceName; note: string }[] } {
  const probes: Probe[] = [config.store.url ? postgresProbe(config.store.url) : pgliteProbe(config.dataDir)];
  const unconfigured: { name: ServiceName; note: string }[] = [];
  if (config.kafka.brokers.length > 0) probes.push(kafkaProbe(config));
  else unconfigured.push({ name: 'kafka', note: 'KAFKA_BROKERS not set: in-process event log' });
  if (config.redis.url || config.redis.sentinels.length > 0) probes.push(redisProbe(config));
  else unconfigured.push({ name: 'redis', note: 'REDIS_URL/REDIS_SENTINELS not set: in-process fan-out' });
  if (config.s3.bucket) probes.push(s3Probe(config));
  else unconfigured.push({ name: 's3', note: `S3_BUCKET not set: files under ${path.join(config.dataDir, 'blobs')}` });
  return { probes, unconfigured };
}

function postgresProbe(url: string): Probe {
  const u = new URL(url);
  return {
    name: 'database',
    target: `postgres ${u.hostname}:${u.port || 5432}${u.pathname}`,
    async run(timeoutMs) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
      // A connection refused later (e.g. the server shutting down) must not crash the command.
      client.on('error', () => undefined);
      try {
        await client.connect();
        const { rows } = await client.query<{ server_version: string; database: string }>(
          'SELECT current_setting($1) AS server_version, current_database() AS database',
          ['server_version'],
        );
        return `PostgreSQL ${rows[0].server_version}, database ${rows[0].database}`;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

function pgliteProbe(dataDir: string): Probe {
  const dir = path.join(dataDir, 'db');
  return {
    name: 'database',
    target: `pglite ${dir}`,
    isLocal: true,
    async run() {
      // Opening an empty directory would create a database: say so instead, and write nothing.
      if (!existsSync(path.join(dir, 'PG_VERSION'))) return 'embedded PGlite, not created yet (chat4all migrate or start creates it)';
      let db: PgliteDatabase;
      try {
        db = await PgliteDatabase.open(dir, { lockFile: path.join(dataDir, 'db.lock') });
      } catch (e) {
        // The server holds it: that is the embedded database working, not a failure.
        if (e instanceof DatabaseInUse) return `embedded PGlite, open in chat4all process ${e.ownerPid ?? '(unknown pid)'}`;
        throw e;
      }
      try {
        const [row] = await db.query<{ server_version: string }>('SHOW server_version');
        return `embedded PGlite (PostgreSQL ${row.server_version})`;
      } finally {
        await db.close();
      }
    },
  };
}

function kafkaProbe(config: Config): Probe {
  const { brokers, clientId, sasl, tls } = config.kafka;
  const security = [sasl ? `SASL ${sasl.mechanism} as ${sasl.username}` : '', tls ? 'TLS' : ''].filter(Boolean).join(', ');
  return {
    name: 'kafka',
    target: `${brokers.join(',')}${security ? ` (${security})` : ''}`,
    async run(timeoutMs) {
      const admin = new Admin({
        clientId: `${clientId}-doctor`,
        bootstrapBrokers: brokers,
        ...connectionOptions({ sasl, tls }),
        connectTimeout: timeoutMs,
        timeout: timeoutMs,
        retries: 0,
      });
      admin.on('error', () => undefined);
      try {
        const metadata = await admin.metadata({ topics: [], forceUpdate: true });
        const apis = await admin.listApis();
        const produce = apis.find((a) => a.apiKey === 0);
        return `cluster ${metadata.id}, ${metadata.brokers.size} broker(s), controller ${metadata.controllerId}, ${apis.length} APIs (Produce v${produce?.minVersion ?? '?'}–v${produce?.maxVersion ?? '?'})`;
      } catch (e) {
        throw new Error(kafkaFailureReason(e), { cause: e });
      } finally {
        await admin.close().catch(() => undefined);
      }
    },
  };
}

function redisProbe(config: Config): Probe {
  const settings = config.redis;
  return {
    name: 'redis',
    target: redisTarget(settings),
    async run(timeoutMs) {
      const client = redisClient(settings, {
        lazyConnect: true,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        sentinelRetryStrategy: () => null,
        connectionName: `${settings.keyPrefix}doctor`.replace(/\s/g, '_'),
      });
      let failure: Error | undefined;
      client.on('error', (e: Error) => (failure ??= e));
      try {
        await client.connect().catch((e: Error) => {
          throw failure ?? e;
        });
        const info = await client.info('server');
        const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
        const at = client.stream?.remoteAddress ? `, master at ${client.stream.remoteAddress}:${client.stream.remotePort}` : '';
        return `Redis ${field('redis_version') ?? '?'} (${field('redis_mode') ?? '?'} mode${settings.sentinels.length > 0 ? at : ''})`;
      } finally {
        await closeRedis(client);
      }
    },
  };
}

function s3Probe(config: Config): Probe {
  const bucket = config.s3.bucket ?? '';
  return {
    name: 's3',
    target: `${config.s3.endpoint ?? `AWS S3 (${config.s3.region})`} bucket ${bucket}`,
    async run() {
      const store = new S3BlobStore({ ...config.s3, bucket });
      try {
        return await store.describe();
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) throw new Error(`bucket ${bucket} does not exist (create it, or set S3_CREATE_BUCKET=true)`, { cause: e });
        if (status === 403) throw new Error(`access to bucket ${bucket} denied (check S3_ACCESS_KEY/S3_SECRET_KEY)`, { cause: e });
        throw e;
      } finally {
        await store.close();
      }
    },
  };
}
