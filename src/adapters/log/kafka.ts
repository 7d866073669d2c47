/**
 * The event log on Apache Kafka (@platformatic/kafka): an idempotent producer with acks=all, the
 * Java client's key partitioner (so order holds per key, and other clients agree on partitions),
 * topics created on start when absent, and one consumer-group member per subscription.
 */
import { Admin, Producer, ProduceAcks, compatibilityPartitioner, stringSerializers } from '@platformatic/kafka';
import { EventLogError, type BatchHandler, type EventLog, type LogRecord, type Subscription } from '../../ports/event-log.ts';
import type { Logger } from '../../app/logger.ts';
import { KafkaGroupConsumer, type LagSample } from './kafka-consumer.ts';

export type { LagSample } from './kafka-consumer.ts';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  partitions: number;
  replicationFactor: number;
  /** Prepended to every topic and group name, so deployments (or test runs) can share a cluster. */
  topicPrefix: string;
  sessionTimeoutMs: number;
  /** Topics to create at start when absent; others are created on first use. */
  topics: readonly string[];
  onLag?: (sample: LagSample) => void;
}

export class KafkaEventLog implements EventLog {
  readonly isDurable = true;
  private readonly producer: Producer<string, string, string, string>;
  private readonly admin: Admin;
  /** Kafka topic names known to exist. */
  private readonly existing = new Set<string>();
  private readonly subscriptions = new Set<KafkaGroupConsumer>();

  private constructor(
    private readonly settings: KafkaSettings,
    private readonly log: Logger,
  ) {
    const base = { clientId: settings.clientId, bootstrapBrokers: settings.brokers };
    this.producer = new Producer({ ...base, serializers: stringSerializers, idempotent: true, acks: ProduceAcks.ALL, partitioner: compatibilityPartitioner });
    this.admin = new Admin(base);
    // Clients report some background failures as 'error' events; unhandled, those would crash the process.
    this.producer.on('error', (e: Error) => log.warn({ err: e }, 'Kafka producer error'));
    this.admin.on('error', (e: Error) => log.warn({ err: e }, 'Kafka admin error'));
  }

  /** Connects and creates the configured topics; rejects with EventLogError when Kafka cannot be reached. */
  static async open(settings: KafkaSettings, log: Logger): Promise<KafkaEventLog> {
    const eventLog = new KafkaEventLog(settings, log);
    try {
      await eventLog.ensureTopics(settings.topics);
    } catch (e) {
      await eventLog.close();
      throw e;
    }
    return eventLog;
  }

  async publish(records: LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.ensureTopics([...new Set(records.map((r) => r.topic))]);
    try {
      await this.producer.send({
        messages: records.map((r) => ({ topic: this.kafkaTopic(r.topic), key: r.key, value: JSON.stringify(r.value), headers: r.headers })),
      });
    } catch (e) {
      throw new EventLogError(`Kafka did not accept ${records.length} record(s)`, { cause: e });
    }
  }

  async subscribe(group: string, topics: string[], handler: BatchHandler): Promise<Subscription> {
    await this.ensureTopics(topics);
    const { brokers, clientId, topicPrefix, sessionTimeoutMs, onLag } = this.settings;
    const consumer = new KafkaGroupConsumer(
      {
        brokers, clientId, group, groupId: `${topicPrefix}${group}`, topics: topics.map((t) => this.kafkaTopic(t)),
        toLogical: (t) => t.slice(topicPrefix.length), sessionTimeoutMs, onLag,
      },
      handler,
      this.log.child({ component: 'kafka.consumer', group }),
    );
    try {
      await consumer.start();
    } catch (e) {
      throw new EventLogError(`could not join Kafka consumer group ${group}`, { cause: e });
    }
    this.subscriptions.add(consumer);
    return {
      stop: async () => {
        this.subscriptions.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async ping(): Promise<void> {
    try {
      await this.admin.metadata({ topics: [], forceUpdate: true });
    } catch (e) {
      throw new EventLogError('Kafka does not answer', { cause: e });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.subscriptions.clear();
    await Promise.all([this.producer.close().catch(() => undefined), this.admin.close().catch(() => undefined)]);
  }

  private kafkaTopic(topic: string): string {
    return `${this.settings.topicPrefix}${topic}`;
  }

  /** Creates the topics that do not exist yet (another process may be creating them at the same time). */
  private async ensureTopics(topics: readonly string[]): Promise<void> {
    const wanted = topics.map((t) => this.kafkaTopic(t)).filter((t) => !this.existing.has(t));
    if (wanted.length === 0) return;
    try {
      const present = new Set(await this.admin.listTopics());
      const missing = wanted.filter((t) => !present.has(t));
      if (missing.length > 0) {
        const { partitions, replicationFactor } = this.settings;
        await this.admin.createTopics({ topics: missing, partitions, replicas: replicationFactor }).catch(async (e: unknown) => {
          const now = new Set(await this.admin.listTopics());
          if (missing.some((t) => !now.has(t))) throw e;
        });
        this.log.info({ topics: missing, partitions, replication_factor: replicationFactor }, 'Kafka topics created');
      }
    } catch (e) {
      throw new EventLogError(`could not create Kafka topics ${wanted.join(', ')}`, { cause: e });
    }
    for (const t of wanted) this.existing.add(t);
  }
}
