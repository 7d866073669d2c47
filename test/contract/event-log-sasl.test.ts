/**
 * The Kafka event log over the broker's SASL_PLAINTEXT listener with SCRAM (services.sh starts it
 * beside the plain one): the whole EventLog contract authenticated, and a wrong password refused.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { KafkaEventLog, type KafkaSettings } from '../../src/adapters/log/kafka.ts';
import { EventLogError } from '../../src/ports/event-log.ts';
import { describeEventLog } from './event-log.contract.ts';
import { connectionOptions } from '../../src/adapters/log/kafka-connection.ts';
import { deleteKafkaTopics, hasServices, kafkaSasl } from '../support/services.ts';

if (hasServices('EventLog contract on Kafka over SASL/SCRAM', 'kafka-sasl') && kafkaSasl) {
  const { brokers, ...sasl } = kafkaSasl;
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const settings = (overrides: Partial<KafkaSettings> = {}): KafkaSettings => ({
    brokers,
    clientId: 'chat4all-contract-sasl',
    partitions: 2,
    replicationFactor: 1,
    topicPrefix: `contract-sasl-${randomUUID().slice(0, 8)}.`,
    sessionTimeoutMs: 6000,
    topics: [],
    sasl,
    ...overrides,
  });

  describeEventLog(
    'kafka (SASL/SCRAM)',
    async () => {
      const s = settings();
      const log = await KafkaEventLog.open(s, logger);
      const peer = await KafkaEventLog.open(s, logger);
      return {
        log,
        peer,
        close: async () => {
          await Promise.all([log.close(), peer.close()]);
          await deleteKafkaTopics(brokers, s.topicPrefix, connectionOptions({ sasl }));
        },
      };
    },
    30_000,
  );

  describe('kafka (SASL/SCRAM) credentials', () => {
    it('refuses a wrong password: opening fails with EventLogError saying so', async () => {
      const s = settings({ sasl: { ...sasl, password: `${sasl.password}-wrong` }, topics: ['refused'] });
      const opened = KafkaEventLog.open(s, logger).then(
        async (log) => (await log.close(), undefined),
        (e: unknown) => e,
      );
      const failure = await opened;
      expect(failure).toBeInstanceOf(EventLogError);
      expect((failure as Error).message).toMatch(/SASL authentication failed \(check KAFKA_SASL_MECHANISM/);
    }, 60_000);

    it('refuses a client that does not authenticate at all', async () => {
      const { sasl: _none, ...plain } = settings({ topics: ['unauthenticated'] });
      const failure = await KafkaEventLog.open({ ...plain, sasl: undefined }, logger).then(
        async (log) => (await log.close(), undefined),
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(EventLogError);
    }, 60_000);
  });
}
