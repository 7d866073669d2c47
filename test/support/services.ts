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

const HINT = 'start them with: eval "$(scripts/services.sh up kafka redis pg)"';

/** True when every named service is configured; otherwise warns (or throws under CI=true) and returns false. */
export function hasServices(suite: string, ...names: ('kafka' | 'redis' | 'postgres')[]): boolean {
  const missing = names.filter((n) => (n === 'kafka' ? kafkaBrokers.length === 0 : n === 'redis' ? !redisUrl : !postgresUrl));
  if (missing.length === 0) return true;
  const vars = missing.map((n) => (n === 'kafka' ? 'KAFKA_BROKERS' : n === 'redis' ? 'REDIS_URL' : 'TEST_DATABASE_URL'));
  if (isCi) throw new Error(`CI=true but ${vars.join(', ')} not set: ${suite} cannot run (${HINT})`);
  console.warn(`[chat4all tests] ${suite} skipped: ${vars.join(', ')} not set (${HINT})`);
  return false;
}

/** Deletes the topics a test run created (those starting with `prefix`), so a shared broker does not fill up. */
export async function deleteKafkaTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new Admin({ clientId: 'chat4all-tests', bootstrapBrokers: brokers });
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } catch {
    // Best effort: a broker that is gone has nothing left to clean.
  } finally {
    await admin.close().catch(() => undefined);
  }
}
