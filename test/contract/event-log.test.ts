import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryEventLog } from '../../src/adapters/log/memory.ts';
import { KafkaEventLog, type KafkaSettings } from '../../src/adapters/log/kafka.ts';
import { describeEventLog } from './event-log.contract.ts';
import { deleteKafkaTopics, hasServices, kafkaBrokers } from '../support/services.ts';

describeEventLog('memory', async () => {
  const log = new MemoryEventLog();
  return { log, close: () => log.close() };
});

if (hasServices('EventLog contract on Kafka', 'kafka')) {
  describeEventLog(
    'kafka',
    async () => {
      const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
      // A prefix of its own: this run's topics and groups never meet another run's.
      const settings: KafkaSettings = {
        brokers: kafkaBrokers,
        clientId: 'chat4all-contract',
        partitions: 4,
        replicationFactor: 1,
        topicPrefix: `contract-${randomUUID().slice(0, 8)}.`,
        sessionTimeoutMs: 6000,
        topics: [],
      };
      const log = await KafkaEventLog.open(settings, logger);
      const peer = await KafkaEventLog.open(settings, logger);
      return {
        log,
        peer,
        close: async () => {
          await Promise.all([log.close(), peer.close()]);
          await deleteKafkaTopics(kafkaBrokers, settings.topicPrefix);
        },
      };
    },
    30_000,
  );
}

if (hasServices('Kafka topic creation race', 'kafka')) {
  describe('kafka: processes that start together', () => {
    it('all open when they create the same topics at the same moment (the API and the worker start together)', async () => {
      const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
      for (let round = 0; round < 3; round++) {
        const settings: KafkaSettings = {
          brokers: kafkaBrokers,
          clientId: 'chat4all-race',
          partitions: 2,
          replicationFactor: 1,
          topicPrefix: `race-${randomUUID().slice(0, 8)}.`,
          sessionTimeoutMs: 6000,
          topics: ['messages', 'status', 'inbound', 'webhooks', 'dead-letters'],
        };
        const opened = await Promise.allSettled([1, 2, 3, 4].map(() => KafkaEventLog.open(settings, logger)));
        await Promise.all(opened.map((o) => (o.status === 'fulfilled' ? o.value.close() : undefined)));
        await deleteKafkaTopics(kafkaBrokers, settings.topicPrefix);
        expect(opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'opened'))).toEqual(['opened', 'opened', 'opened', 'opened']);
      }
    }, 60_000);
  });
}
