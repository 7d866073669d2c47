/**
 * Environment → typed, validated, frozen Config. The only module that reads process.env.
 * Every problem is reported at once; unset variables mean the embedded default.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { channelsConfig, redactChannels, type ChannelsConfig } from './config-channels.ts';

export type Role = 'api' | 'relay' | 'router' | 'connectors' | 'status' | 'inbound' | 'scheduler';
export const ALL_ROLES: readonly Role[] = ['api', 'relay', 'router', 'connectors', 'status', 'inbound', 'scheduler'];
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
  kafka: { brokers: string[]; partitions: number; replicationFactor: number; clientId: string; topicPrefix: string; sessionTimeoutMs: number };
  /** keyPrefix: namespace of every Redis key and pub/sub channel (deployments or test runs sharing one Redis). */
  redis: { url?: string; password?: string; keyPrefix: string };
  /** prefix (S3_PREFIX): prepended to every object key, so that deployments or test runs can share a bucket. */
  s3: { endpoint?: string; bucket?: string; accessKey?: string; secretKey?: string; region: string; forcePathStyle: boolean; prefix: string };
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
  /** External platforms (CONTRACT.md "Channels"). */
  channels: ChannelsConfig;
  logLevel: string;
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
  const s3Endpoint = str('S3_ENDPOINT', 'MINIO_ENDPOINT');
  const minioSecure = str('MINIO_SECURE');
  const s3EndpointUrl =
    s3Endpoint && !/^https?:\/\//.test(s3Endpoint) ? `${minioSecure && /^(1|true)$/i.test(minioSecure) ? 'https' : 'http'}://${s3Endpoint}` : s3Endpoint;
  const otlpEndpoint = str('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (otlpEndpoint && !/^https?:\/\/[^/]/.test(otlpEndpoint)) problems.push('OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL');
  const isEmbedded = !databaseUrl && brokers.length === 0 && !redisUrl;
  // NODE_ENV=production (the container image sets it) means production too; ENVIRONMENT wins when both are set.
  const environment = str('ENVIRONMENT') ?? (str('NODE_ENV') === 'production' || !isEmbedded ? 'production' : 'development');
  const isProduction = environment === 'production';

  let jwtSecret = str('JWT_SECRET_KEY');
  const isEphemeralSecret = !jwtSecret;
  if (!jwtSecret) {
    if (!isEmbedded) problems.push('JWT_SECRET_KEY is required outside embedded mode (DATABASE_URL, KAFKA_BROKERS or REDIS_URL is set)');
    else if (isProduction) problems.push('JWT_SECRET_KEY is required in production (e.g. openssl rand -base64 48)');
    jwtSecret = randomSecret();
  } else if (jwtSecret.length < 16) problems.push('JWT_SECRET_KEY must be at least 16 characters');
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
    },
    redis: { url: redisUrl, password: str('REDIS_PASSWORD'), keyPrefix: str('REDIS_KEY_PREFIX') ?? 'chat4all:' },
    s3: {
      endpoint: s3EndpointUrl,
      bucket: str('S3_BUCKET', 'MINIO_BUCKET'),
      accessKey: str('S3_ACCESS_KEY', 'MINIO_ACCESS_KEY'),
      secretKey: str('S3_SECRET_KEY', 'MINIO_SECRET_KEY'),
      region: str('S3_REGION') ?? 'us-east-1',
      forcePathStyle: bool('S3_FORCE_PATH_STYLE', true),
      prefix: str('S3_PREFIX') ?? '',
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
    channels: channelsConfig(str, int, bool),
    logLevel: str('LOG_LEVEL') ?? 'info',
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
    redis: { ...config.redis, url: config.redis.url?.replace(/\/\/([^@/]*)@/, '//[redacted]@'), password: hide(config.redis.password) },
    s3: { ...config.s3, accessKey: hide(config.s3.accessKey), secretKey: hide(config.s3.secretKey) },
    auth: { ...config.auth, jwtSecret: '[redacted]' },
    channels: redactChannels(config.channels),
  };
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
