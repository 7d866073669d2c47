/**
 * Which real message services the contract and distributed suites use: Kafka at KAFKA_BROKERS and
 * Redis at REDIS_URL, as `eval "$(scripts/services.sh up kafka redis pg)"` exports them. Locally a
 * suite whose service is absent skips with a visible reason; under CI=true it is a failure.
 */
import { Admin } from '@platformatic/kafka';
import { isCi, postgresUrl } from './stores.ts';

export const kafkaBrokers = (process.env.KAFKA_BROKERS ?? process.env.KAFKA_BOOTSTRAP_SERVERS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
export const redisUrl = process.env.REDIS_URL;

/**
 * The broker's SASL/SCRAM listener and a Redis Sentinel, as services.sh exports them. TEST_* names:
 * the application's own KAFKA_SASL_MECHANISM or REDIS_SENTINELS would switch every suite over to them.
 */
export const kafkaSasl = process.env.TEST_KAFKA_SASL_BROKERS
  ? {
      brokers: process.env.TEST_KAFKA_SASL_BROKERS.split(',').map((s) => s.trim()),
      mechanism: (process.env.TEST_KAFKA_SASL_MECHANISM ?? 'scram-sha-256') as 'scram-sha-256' | 'scram-sha-512' | 'plain',
      username: process.env.TEST_KAFKA_SASL_USERNAME ?? '',
      password: process.env.TEST_KAFKA_SASL_PASSWORD ?? '',
    }
  : undefined;
export const redisSentinels = process.env.TEST_REDIS_SENTINELS
  ? {
      sentinels: process.env.TEST_REDIS_SENTINELS.split(',').map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) })),
      master: process.env.TEST_REDIS_SENTINEL_MASTER ?? 'mymaster',
    }
  : undefined;

const HINT = 'start them with: eval "$(scripts/services.sh up kafka redis pg sentinel)"';

/** True when every named service is configured; otherwise warns (or throws under CI=true) and returns false. */
type ServiceName = 'kafka' | 'redis' | 'postgres' | 'kafka-sasl' | 'sentinel';
const VARIABLE: Record<ServiceName, string> = {
  kafka: 'KAFKA_BROKERS',
  redis: 'REDIS_URL',
  postgres: 'TEST_DATABASE_URL',
  'kafka-sasl': 'TEST_KAFKA_SASL_BROKERS',
  sentinel: 'TEST_REDIS_SENTINELS',
};
const isConfigured: Record<ServiceName, () => boolean> = {
  kafka: () => kafkaBrokers.length > 0,
  redis: () => !!redisUrl,
  postgres: () => !!postgresUrl,
  'kafka-sasl': () => !!kafkaSasl,
  sentinel: () => !!redisSentinels,
};

export function hasServices(suite: string, ...names: ServiceName[]): boolean {
  const missing = names.filter((n) => !isConfigured[n]());
  if (missing.length === 0) return true;
  const vars = missing.map((n) => VARIABLE[n]);
  if (isCi) throw new Error(`CI=true but ${vars.join(', ')} not set: ${suite} cannot run (${HINT})`);
  console.warn(`[chat4all tests] ${suite} skipped: ${vars.join(', ')} not set (${HINT})`);
  return false;
}

/** Deletes the topics a test run created (those starting with `prefix`), so a shared broker does not fill up. */
export async function deleteKafkaTopics(brokers: string[], prefix: string, options: Partial<ConstructorParameters<typeof Admin>[0]> = {}): Promise<void> {
  const admin = new Admin({ clientId: 'chat4all-tests', bootstrapBrokers: brokers, ...options });
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } catch {
    // Best effort: a broker that is gone has nothing left to clean.
  } finally {
    await admin.close().catch(() => undefined);
  }
}
