/**
 * Environment → typed, validated, frozen Config. The only module that reads process.env.
 * Every problem is reported at once; unset variables mean the embedded default.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { channelsConfig, redactChannels, type ChannelsConfig } from './config-channels.ts';

export type Role = 'api' | 'relay' | 'router' | 'connectors' | 'status' | 'inbound' | 'scheduler' | 'push' | 'webhooks';
export const ALL_ROLES: readonly Role[] = ['api', 'relay', 'router', 'connectors', 'status', 'inbound', 'scheduler', 'push', 'webhooks'];
export const RATE_CLASSES = ['auth', 'send', 'write', 'chunk', 'read'] as const;
export type RateClass = (typeof RATE_CLASSES)[number];

export interface Config {
  environment: string;
  isEmbedded: boolean;
  /** host: HOST, or 127.0.0.1 in embedded mode with demo users (their password is public), else 0.0.0.0. */
  http: { port: number; host: string; publicUrl?: string };
  /**
   * port (METRICS_PORT): a separate listener for /metrics that the ingress never routes to.
   * Default 9464 in production; undefined (or equal to PORT) serves /metrics on the HTTP port.
   */
  metrics: { port?: number };
  /** isEnabled (DOCS_ENABLED): /docs and /openapi.json; default on, off in production. */
  docs: { isEnabled: boolean };
  dataDir: string;
  store: { url?: string; poolSize: number };
  /** topicPrefix: prepended to every topic and consumer group (isolates deployments or test runs sharing a cluster). */
  kafka: {
    brokers: string[];
    partitions: number;
    replicationFactor: number;
    clientId: string;
    topicPrefix: string;
    sessionTimeoutMs: number;
    /** KAFKA_SASL_*: unset = no authentication. */
    sasl?: KafkaSasl;
    /** KAFKA_TLS: encrypt every broker connection; ca (KAFKA_TLS_CA_FILE) replaces the system CAs. */
    tls?: { ca?: string };
  };
  /**
   * keyPrefix: namespace of every Redis key and pub/sub channel (deployments or test runs sharing one Redis).
   * sentinels (REDIS_SENTINELS): ask these Sentinels for the current master of `sentinelMaster` instead of using `url`.
   */
  redis: {
    url?: string;
    sentinels: { host: string; port: number }[];
    sentinelMaster: string;
    sentinelPassword?: string;
    password?: string;
    keyPrefix: string;
  };
  /**
   * prefix (S3_PREFIX): prepended to every object key, so that deployments or test runs can share a bucket.
   * createBucket (S3_CREATE_BUCKET): create the bucket at start when it does not exist.
   */
  s3: {
    endpoint?: string;
    bucket?: string;
    accessKey?: string;
    secretKey?: string;
    region: string;
    forcePathStyle: boolean;
    prefix: string;
    createBucket: boolean;
  };
  auth: {
    jwtSecret: string;
    isEphemeralSecret: boolean;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    registration: 'open' | 'closed';
    demoUsers: boolean;
  };
  /**
   * Failed sign-ins per account (normalised username, known or not) per window, from any address,
   * before /auth/token answers 429 too-many-login-failures. maxFailures 0 turns it off.
   */
  loginThrottle: { maxFailures: number; windowSeconds: number };
  /** keyGraceSeconds (APP_KEY_ROTATION_GRACE_SECONDS): how long an app's previous API key keeps working after a rotation. */
  apps: { keyGraceSeconds: number };
  /**
   * TRUST_PROXY: which peers may set X-Forwarded-For/-Host/-Proto (client address for rate limits,
   * host of absolute URLs). false: none (default); true: any; a hop count; or addresses/CIDRs.
   */
  trustProxy: TrustProxy;
  /**
   * Slow clients: headersMs for the request head; bodyMs for a whole request outside uploads;
   * uploadBodyMs for a chunk PUT or tus request; idleMs of silence on a socket; keepAliveMs between requests.
   */
  httpTimeouts: { headersMs: number; bodyMs: number; uploadBodyMs: number; idleMs: number; keepAliveMs: number };
  /** maxTextLength (MAX_TEXT_LENGTH): characters of a text message, counted in Unicode code points (an emoji is one). */
  limits: { maxTextLength: number; maxGroupMembers: number; wsMaxPerUser: number; maxUploadBytes: number };
  /** editWindowSeconds (MESSAGE_EDIT_WINDOW_HOURS): how long after sending a sender may edit or delete a message. */
  messages: { editWindowSeconds: number };
  rateLimit: { enabled: boolean; perMinute: Record<RateClass, number> };
  /** leaseMs: how long a claimed channel delivery may take before another worker hands it out again. */
  delivery: { maxAttempts: number; backoffBaseMs: number; leaseMs: number; connectorLatencyMs: number; connectorFailureRate: number };
  gc: { retentionHours: number; batchSize: number; pushgatewayUrl?: string };
  /**
   * framesPerSecond/frameBurst: per-socket token bucket over client frames. highWaterBytes: `sync`
   * stops writing while more than this waits to go out; drainTimeoutMs: a socket that stays above
   * it this long is closed with 1013, and live pushes close one above 16× highWaterBytes.
   */
  ws: { pingIntervalMs: number; framesPerSecond: number; frameBurst: number; highWaterBytes: number; drainTimeoutMs: number };
  /**
   * otlpEndpoint (OTEL_EXPORTER_OTLP_ENDPOINT): OTLP/HTTP collector base URL; spans go to
   * `<url>/v1/traces`. Unset: tracing is off and costs next to nothing.
   */
  tracing: { otlpEndpoint?: string };
  /** Group commit of sends: the first send of a batch waits up to maxWaitMs for others, at most max per commit. */
  acceptBatch: { maxWaitMs: number; max: number };
  /** External platforms (CONTRACT.md "Channels"). */
  channels: ChannelsConfig;
  /** Web Push (docs/notifications.md). */
  push: PushConfig;
  /** Outbound webhooks (docs/integrations.md): SSRF rule, timeout, retry schedule, disabling, secret overlap. */
  webhooks: WebhooksConfig;
  logLevel: string;
  /** LOG_PRETTY: true/false forces or refuses pino-pretty; unset = pretty on a terminal when pino-pretty is installed. */
  logPretty?: boolean;
}

export const KAFKA_SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'plain'] as const;
export interface KafkaSasl {
  mechanism: (typeof KAFKA_SASL_MECHANISMS)[number];
  username: string;
  password: string;
}

/**
 * vapid (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT): the application server's key pair.
 * Unset: generated once and kept in DATA_DIR outside production; push is off in production.
 * isLoopbackHttpAllowed (PUSH_ALLOW_LOOPBACK_HTTP): accept http://127.0.0.1 endpoints (fake push services in tests).
 */
export interface PushConfig {
  vapid?: { publicKey: string; privateKey: string };
  subject: string;
  isLoopbackHttpAllowed: boolean;
}

export interface WebhooksConfig {
  /** WEBHOOK_ALLOW_PRIVATE_URLS: http:// and loopback/private addresses allowed (default outside production only). */
  isPrivateAllowed: boolean;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** How long a delivery is retried before it is marked failed. */
  retryWindowMs: number;
  /** An endpoint failing without a success for this long is disabled. */
  disableAfterMs: number;
  /** How long the previous secret keeps signing after a rotation. */
  secretOverlapMs: number;
  pollMs: number;
}

/** Fastify's `trustProxy`: off, on, a hop count, or trusted addresses and CIDR ranges. */
export type TrustProxy = boolean | number | string[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads the environment; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const str = (name: string, ...aliases: string[]) => {
    for (const n of [name, ...aliases]) {
      const v = env[n];
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
  const int = (name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER) => {
    const raw = str(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return dflt;
    }
    return n;
  };
  const num = (name: string, dflt: number, min: number, max: number) => {
    const raw = str(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      problems.push(`${name} must be a number between ${min} and ${max} (got "${raw}")`);
      return dflt;
    }
    return n;
  };
  const bool = (name: string, dflt: boolean) => {
    const raw = str(name);
    if (raw === undefined) return dflt;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return dflt;
  };

  const databaseUrl = str('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL must start with postgres:// or postgresql://');
  const brokers = (str('KAFKA_BROKERS', 'KAFKA_BOOTSTRAP_SERVERS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const redisUrl = str('REDIS_URL');
  const sentinels = parseSentinels(str('REDIS_SENTINELS'), problems);
  if (redisUrl && sentinels.length > 0)
    problems.push('set REDIS_URL or REDIS_SENTINELS, not both (with Sentinel, the master address comes from the Sentinels)');
  const s3Endpoint = str('S3_ENDPOINT', 'MINIO_ENDPOINT');
  const minioSecure = str('MINIO_SECURE');
  const s3EndpointUrl =
    s3Endpoint && !/^https?:\/\//.test(s3Endpoint) ? `${minioSecure && /^(1|true)$/i.test(minioSecure) ? 'https' : 'http'}://${s3Endpoint}` : s3Endpoint;
  const otlpEndpoint = str('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (otlpEndpoint && !/^https?:\/\/[^/]/.test(otlpEndpoint)) problems.push('OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL');
  const isEmbedded = !databaseUrl && brokers.length === 0 && !redisUrl && sentinels.length === 0;
  // NODE_ENV=production (the container image sets it) means production too; ENVIRONMENT wins when both are set.
  const environment = str('ENVIRONMENT') ?? (str('NODE_ENV') === 'production' || !isEmbedded ? 'production' : 'development');
  const isProduction = environment === 'production';

  let jwtSecret = str('JWT_SECRET_KEY');
  const isEphemeralSecret = !jwtSecret;
  if (!jwtSecret) {
    if (!isEmbedded) problems.push('JWT_SECRET_KEY is required outside embedded mode (DATABASE_URL, KAFKA_BROKERS or REDIS_URL is set)');
    else if (isProduction) problems.push('JWT_SECRET_KEY is required in production (e.g. openssl rand -base64 48)');
    jwtSecret = randomSecret();
  } else if (jwtSecret.length < 16)
    problems.push(`JWT_SECRET_KEY must be at least 16 characters (it has ${jwtSecret.length}); generate one with: openssl rand -base64 48`);
  else if (environment !== 'development' && isPublishedSecret(jwtSecret)) {
    problems.push('JWT_SECRET_KEY is an example value published in this repository; generate your own (openssl rand -base64 48)');
  }
  const demoUsers = bool('DEMO_USERS', !isProduction);
  if (demoUsers && isProduction) problems.push('DEMO_USERS=true is refused in production: their password is public');
  const port = int('PORT', 8000, 0, 65535);
  // Unset outside production, or equal to PORT: /metrics on the HTTP port. 0 picks a free port (tests).
  const metricsPort = str('METRICS_PORT') === undefined && !isProduction ? undefined : int('METRICS_PORT', 9464, 0, 65535);

  const registration = str('REGISTRATION') ?? (isProduction ? 'closed' : 'open');
  if (registration !== 'open' && registration !== 'closed') problems.push(`REGISTRATION must be open or closed (got "${registration}")`);

  const perMinute = {} as Record<RateClass, number>;
  const rateDefaults: Record<RateClass, number> = { auth: 30, send: 600, write: 300, chunk: 1200, read: 1200 };
  for (const c of RATE_CLASSES) perMinute[c] = int(`RATE_LIMIT_${c.toUpperCase()}_PER_MINUTE`, rateDefaults[c], 1);

  const httpTimeouts = {
    headersMs: int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
    bodyMs: int('HTTP_BODY_TIMEOUT_MS', 30_000, 100, 3_600_000),
    // A 64 MiB chunk needs ~110 KB/s to arrive in 10 minutes.
    uploadBodyMs: int('HTTP_UPLOAD_TIMEOUT_MS', 600_000, 100, 24 * 3_600_000),
    idleMs: int('HTTP_IDLE_TIMEOUT_MS', 120_000, 100, 3_600_000),
    keepAliveMs: int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 3_600_000),
  };
  if (httpTimeouts.headersMs > httpTimeouts.bodyMs) problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_BODY_TIMEOUT_MS');
  if (httpTimeouts.bodyMs > httpTimeouts.uploadBodyMs) problems.push('HTTP_BODY_TIMEOUT_MS must not exceed HTTP_UPLOAD_TIMEOUT_MS');

  const dataDir = path.resolve(str('DATA_DIR') ?? './data');
  const config: Config = {
    environment,
    isEmbedded,
    http: { port, host: str('HOST') ?? (isEmbedded && demoUsers ? '127.0.0.1' : '0.0.0.0'), publicUrl: str('PUBLIC_URL') },
    metrics: { port: metricsPort === port && port !== 0 ? undefined : metricsPort },
    docs: { isEnabled: bool('DOCS_ENABLED', !isProduction) },
    dataDir,
    store: { url: databaseUrl, poolSize: int('DATABASE_POOL_SIZE', 10, 1, 200) },
    kafka: {
      brokers,
      partitions: int('KAFKA_PARTITIONS', 12, 1, 10_000),
      replicationFactor: int('KAFKA_REPLICATION_FACTOR', 1, 1, 10),
      clientId: str('KAFKA_CLIENT_ID') ?? 'chat4all',
      topicPrefix: str('KAFKA_TOPIC_PREFIX') ?? '',
      sessionTimeoutMs: int('KAFKA_SESSION_TIMEOUT_MS', 10_000, 6000, 300_000),
      ...kafkaSecurity(str, bool, problems),
    },
    redis: {
      url: redisUrl,
      sentinels,
      sentinelMaster: str('REDIS_SENTINEL_MASTER') ?? 'mymaster',
      sentinelPassword: str('REDIS_SENTINEL_PASSWORD'),
      password: str('REDIS_PASSWORD'),
      keyPrefix: str('REDIS_KEY_PREFIX') ?? 'chat4all:',
    },
    s3: {
      endpoint: s3EndpointUrl,
      bucket: str('S3_BUCKET', 'MINIO_BUCKET'),
      accessKey: str('S3_ACCESS_KEY', 'MINIO_ACCESS_KEY'),
      secretKey: str('S3_SECRET_KEY', 'MINIO_SECRET_KEY'),
      region: str('S3_REGION') ?? 'us-east-1',
      forcePathStyle: bool('S3_FORCE_PATH_STYLE', true),
      prefix: str('S3_PREFIX') ?? '',
      // Off in production: there the bucket is infrastructure (its policy, versioning, lifecycle), made on purpose.
      createBucket: bool('S3_CREATE_BUCKET', !isProduction),
    },
    auth: {
      jwtSecret,
      isEphemeralSecret,
      accessTtlSeconds: int('ACCESS_TOKEN_EXPIRE_MINUTES', 15, 1, 1440) * 60,
      refreshTtlSeconds: int('REFRESH_TOKEN_EXPIRE_DAYS', 30, 1, 365) * 86400,
      registration: registration === 'closed' ? 'closed' : 'open',
      demoUsers,
    },
    limits: {
      maxTextLength: int('MAX_TEXT_LENGTH', 4096, 1, 1_000_000),
      maxGroupMembers: int('MAX_GROUP_MEMBERS', 1000, 3, 100_000),
      wsMaxPerUser: int('WS_MAX_PER_USER', 10, 1, 10_000),
      maxUploadBytes: int('MAX_UPLOAD_BYTES', 2 * 1024 ** 3, 1),
    },
    messages: { editWindowSeconds: int('MESSAGE_EDIT_WINDOW_HOURS', 48, 0, 8760) * 3600 },
    rateLimit: { enabled: bool('RATE_LIMIT_ENABLED', true), perMinute },
    loginThrottle: { maxFailures: int('LOGIN_MAX_FAILURES', 10, 0, 1_000_000), windowSeconds: int('LOGIN_FAILURE_WINDOW_MINUTES', 15, 1, 1440) * 60 },
    apps: { keyGraceSeconds: int('APP_KEY_ROTATION_GRACE_SECONDS', 86_400, 0, 30 * 86_400) },
    trustProxy: parseTrustProxy(str('TRUST_PROXY'), problems),
    httpTimeouts,
    delivery: {
      maxAttempts: int('DELIVERY_MAX_ATTEMPTS', 5, 1, 100),
      backoffBaseMs: int('DELIVERY_BACKOFF_MS', 500, 1, 3_600_000),
      leaseMs: int('DELIVERY_LEASE_MS', 30_000, 100, 3_600_000),
      connectorLatencyMs: int('CONNECTOR_MOCK_LATENCY_MS', 50, 0, 60_000),
      connectorFailureRate: num('CONNECTOR_MOCK_FAILURE_RATE', 0, 0, 1),
    },
    gc: { retentionHours: int('GC_RETENTION_HOURS', 24, 0), batchSize: int('GC_BATCH_SIZE', 100, 1, 100_000), pushgatewayUrl: str('PUSHGATEWAY_URL') },
    ws: {
      pingIntervalMs: int('WS_PING_INTERVAL_MS', 30_000, 100, 3_600_000),
      framesPerSecond: int('WS_FRAMES_PER_SECOND', 50, 1, 100_000),
      frameBurst: int('WS_FRAME_BURST', 200, 1, 100_000),
      // At least the transport's own 16 KiB mark, so that waiting for 'drain' always ends.
      highWaterBytes: int('WS_HIGH_WATER_BYTES', 1024 * 1024, 64 * 1024, 1024 ** 3),
      drainTimeoutMs: int('WS_DRAIN_TIMEOUT_MS', 30_000, 100, 3_600_000),
    },
    tracing: { otlpEndpoint },
    acceptBatch: { maxWaitMs: int('ACCEPT_BATCH_MAX_WAIT_MS', 1, 0, 1000), max: int('ACCEPT_BATCH_MAX', 200, 1, 10_000) },
    channels: channelsConfig(str, int, bool),
    push: pushConfig(str, bool, isProduction, problems),
    webhooks: {
      isPrivateAllowed: bool('WEBHOOK_ALLOW_PRIVATE_URLS', !isProduction),
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
      retryBaseMs: int('WEBHOOK_RETRY_BASE_MS', 30_000, 1, 3_600_000),
      retryMaxDelayMs: int('WEBHOOK_RETRY_MAX_DELAY_MS', 3_600_000, 1, 86_400_000),
      retryWindowMs: int('WEBHOOK_RETRY_WINDOW_MS', 86_400_000, 1, 30 * 86_400_000),
      disableAfterMs: int('WEBHOOK_DISABLE_AFTER_MS', 5 * 86_400_000, 1, 365 * 86_400_000),
      secretOverlapMs: int('WEBHOOK_SECRET_OVERLAP_MS', 86_400_000, 0, 30 * 86_400_000),
      pollMs: int('WEBHOOK_POLL_MS', 1000, 10, 60_000),
    },
    logLevel: str('LOG_LEVEL') ?? 'info',
    logPretty: str('LOG_PRETTY') === undefined ? undefined : bool('LOG_PRETTY', false),
  };
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel))
    problems.push(`LOG_LEVEL must be one of fatal,error,warn,info,debug,trace,silent`);
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** The process's config: its environment over the variables of ./.env, when there is one. */
export function loadProcessConfig(): Readonly<Config> {
  return loadConfig({ ...readDotEnv(), ...process.env });
}

/** The config as safe to log: secrets replaced. */
export function redactConfig(config: Config): unknown {
  const hide = (v?: string) => (v ? '[redacted]' : undefined);
  return {
    ...config,
    store: { ...config.store, url: config.store.url?.replace(/\/\/([^@/]*)@/, '//[redacted]@') },
    kafka: { ...config.kafka, sasl: config.kafka.sasl && { ...config.kafka.sasl, password: '[redacted]' } },
    redis: {
      ...config.redis,
      url: config.redis.url?.replace(/\/\/([^@/]*)@/, '//[redacted]@'),
      password: hide(config.redis.password),
      sentinelPassword: hide(config.redis.sentinelPassword),
    },
    s3: { ...config.s3, accessKey: hide(config.s3.accessKey), secretKey: hide(config.s3.secretKey) },
    auth: { ...config.auth, jwtSecret: '[redacted]' },
    channels: redactChannels(config.channels),
    push: { ...config.push, vapid: config.push.vapid && { publicKey: config.push.vapid.publicKey, privateKey: '[redacted]' } },
  };
}

/** VAPID keys come in pairs of base64url P-256 keys (RFC 8292); the subject is a mailto: or https: contact. */
function pushConfig(
  str: (name: string) => string | undefined,
  bool: (name: string, dflt: boolean) => boolean,
  isProduction: boolean,
  problems: string[],
): PushConfig {
  const publicKey = str('VAPID_PUBLIC_KEY');
  const privateKey = str('VAPID_PRIVATE_KEY');
  if (!publicKey !== !privateKey) problems.push('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together');
  if (publicKey && !isKeyOfLength(publicKey, 65, 0x04)) problems.push('VAPID_PUBLIC_KEY must be an uncompressed P-256 public key, base64url (87 characters)');
  if (privateKey && !isKeyOfLength(privateKey, 32)) problems.push('VAPID_PRIVATE_KEY must be a P-256 private key, base64url (43 characters)');
  const subject = str('VAPID_SUBJECT') ?? 'mailto:chat4all@localhost';
  if (!/^(mailto:[^\s@]+@[^\s@]+|https:\/\/[^\s/]+.*)$/.test(subject)) problems.push('VAPID_SUBJECT must be a mailto: address or an https:// URL');
  else if (isProduction && publicKey && !str('VAPID_SUBJECT'))
    problems.push('VAPID_SUBJECT (mailto: or https:// contact for push services) is required with VAPID keys in production');
  const isLoopbackHttpAllowed = bool('PUSH_ALLOW_LOOPBACK_HTTP', false);
  if (isLoopbackHttpAllowed && isProduction) problems.push('PUSH_ALLOW_LOOPBACK_HTTP=true is refused in production');
  return { vapid: publicKey && privateKey ? { publicKey, privateKey } : undefined, subject, isLoopbackHttpAllowed };
}

function isKeyOfLength(key: string, bytes: number, firstByte?: number): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) return false;
  const raw = Buffer.from(key, 'base64url');
  return raw.length === bytes && (firstByte === undefined || raw[0] === firstByte);
}

type Read<T> = (name: string, ...rest: T[]) => T | undefined;

/** KAFKA_SASL_MECHANISM/USERNAME/PASSWORD and KAFKA_TLS/KAFKA_TLS_CA_FILE. */
function kafkaSecurity(str: Read<string>, bool: (name: string, dflt: boolean) => boolean, problems: string[]): { sasl?: KafkaSasl; tls?: { ca?: string } } {
  const out: { sasl?: KafkaSasl; tls?: { ca?: string } } = {};
  const mechanism = str('KAFKA_SASL_MECHANISM')?.toLowerCase();
  const username = str('KAFKA_SASL_USERNAME');
  const password = str('KAFKA_SASL_PASSWORD');
  if (mechanism !== undefined) {
    if (!(KAFKA_SASL_MECHANISMS as readonly string[]).includes(mechanism))
      problems.push(`KAFKA_SASL_MECHANISM must be one of ${KAFKA_SASL_MECHANISMS.join(', ')} (got "${mechanism}"); leave it unset for no authentication`);
    else if (!username || !password) problems.push(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
    else out.sasl = { mechanism: mechanism as KafkaSasl['mechanism'], username, password };
  } else if (username || password)
    problems.push('KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but KAFKA_SASL_MECHANISM is not (scram-sha-256, scram-sha-512 or plain)');
  const caFile = str('KAFKA_TLS_CA_FILE');
  const isTls = bool('KAFKA_TLS', caFile !== undefined);
  if (caFile !== undefined && !isTls) problems.push('KAFKA_TLS_CA_FILE is set but KAFKA_TLS=false');
  else if (isTls) {
    out.tls = {};
    if (caFile !== undefined) {
      try {
        out.tls.ca = readFileSync(caFile, 'utf8');
        if (!out.tls.ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(`KAFKA_TLS_CA_FILE ${caFile} holds no PEM certificate`);
      } catch (e) {
        problems.push(`KAFKA_TLS_CA_FILE ${caFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    }
  }
  if (out.sasl?.mechanism === 'plain' && !isTls)
    problems.push('KAFKA_SASL_MECHANISM=plain sends the password in clear text: set KAFKA_TLS=true (or use scram-sha-256/512)');
  return out;
}

/** REDIS_SENTINELS: comma-separated host:port (port 26379 when omitted). */
function parseSentinels(raw: string | undefined, problems: string[]): { host: string; port: number }[] {
  if (raw === undefined) return [];
  const out: { host: string; port: number }[] = [];
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(entry);
    const port = match?.[2] === undefined ? 26379 : Number(match[2]);
    if (!match || port < 1 || port > 65535) {
      problems.push(`REDIS_SENTINELS must be comma-separated host:port entries (bad: "${entry}")`);
      continue;
    }
    out.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  if (out.length === 0 && problems.every((p) => !p.startsWith('REDIS_SENTINELS'))) problems.push('REDIS_SENTINELS is set but names no Sentinel');
  return out;
}

// proxy-addr's names for private ranges, accepted beside addresses and CIDRs.
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** TRUST_PROXY: unset/false, true, a hop count, or a comma-separated list of addresses and CIDRs. */
function parseTrustProxy(raw: string | undefined, problems: string[]): TrustProxy {
  if (raw === undefined || /^(false|0)$/i.test(raw)) return false;
  if (/^true$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = entries.filter((e) => !PROXY_RANGE_NAMES.includes(e) && !isAddressOrCidr(e));
  if (bad.length > 0 || entries.length === 0) {
    problems.push(`TRUST_PROXY must be false, true, a hop count or comma-separated addresses/CIDRs (bad: "${bad.join(', ') || raw}")`);
    return false;
  }
  return entries;
}

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/**
 * JWT secrets that appear in this repository (docker-compose.yml, manifests, docs): anyone can
 * sign tokens with them. Placeholders of the "change me" kind are refused whatever their spelling.
 */
const PUBLISHED_SECRETS = new Set(['dev-only-jwt-secret-change-me-0123456789']);
export const isPublishedSecret = (secret: string) => PUBLISHED_SECRETS.has(secret) || /change[-_ ]?me|replace[-_ ]?me/i.test(secret);

/**
 * Variables of a `.env` file in `dir` (none when there is no file). Callers merge them under the
 * real environment, which wins, as Node's --env-file does.
 */
export function readDotEnv(dir = process.cwd()): Env {
  const file = path.join(dir, '.env');
  return existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
}

function randomSecret(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('base64url');
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(o);
}
