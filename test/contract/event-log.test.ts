import { randomUUID } from 'node:crypto';
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
