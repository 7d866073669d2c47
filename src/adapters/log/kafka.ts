/**
 * The event log on Apache Kafka (@platformatic/kafka): an idempotent producer with acks=all, the
 * Java client's key partitioner (so order holds per key, and other clients agree on partitions),
 * topics created on start when absent, and one consumer-group member per subscription.
 */
import { Admin, Producer, ProduceAcks, compatibilityPartitioner, stringSerializers, type MessageToProduce } from '@platformatic/kafka';
import { EventLogError, type BatchHandler, type EventLog, type LogRecord, type Subscription } from '../../ports/event-log.ts';
import type { RawRecord } from './kafka-consumer.ts';
import type { Logger } from '../../app/logger.ts';
import { KafkaGroupConsumer, type LagSample } from './kafka-consumer.ts';
import { connectionOptions, kafkaFailureReason, onlyTopicsAlreadyExist, type KafkaSecurity } from './kafka-connection.ts';

export type { LagSample } from './kafka-consumer.ts';

export interface KafkaSettings extends KafkaSecurity {
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

type Outgoing = MessageToProduce<string, string, string, string>;
/** Records one produce request carries at most. */
const MAX_SEND = 5000;

export class KafkaEventLog<M extends object = Record<string, unknown>> implements EventLog<M> {
  readonly isDurable = true;
  private producer: Producer<string, string, string, string>;
  private readonly admin: Admin;
  /** Records waiting for the produce request in flight to finish. */
  private pending: { messages: Outgoing[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  private sending: Promise<void> | undefined;
  /** Kafka topic names known to exist. */
  private readonly existing = new Set<string>();
  private readonly subscriptions = new Set<KafkaGroupConsumer>();

  private constructor(
    private readonly settings: KafkaSettings,
    private readonly log: Logger,
  ) {
    this.producer = this.createProducer();
    this.admin = new Admin({ clientId: settings.clientId, bootstrapBrokers: settings.brokers, ...connectionOptions(settings) });
    // Clients report some background failures as 'error' events; unhandled, those would crash the process.
    this.admin.on('error', (e: Error) => log.warn({ err: e }, 'Kafka admin error'));
  }

  /** Connects and creates the configured topics; rejects with EventLogError when Kafka cannot be reached. */
  static async open<M extends object = Record<string, unknown>>(settings: KafkaSettings, log: Logger): Promise<KafkaEventLog<M>> {
    const eventLog = new KafkaEventLog<M>(settings, log);
    try {
      await eventLog.ensureTopics(settings.topics);
    } catch (e) {
      await eventLog.close();
      throw e;
    }
    return eventLog;
  }

  async publish(records: LogRecord<M>[]): Promise<void> {
    if (records.length === 0) return;
    await this.ensureTopics([...new Set(records.map((r) => r.topic))]);
    const messages = records.map((r) => ({ topic: this.kafkaTopic(r.topic), key: r.key, value: JSON.stringify(r.value), headers: r.headers }));
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ messages, resolve, reject });
      this.sending ??= this.sendPending().finally(() => (this.sending = undefined));
    });
  }

  async subscribe<T extends keyof M & string>(group: string, topics: readonly T[], handler: BatchHandler<M, T>): Promise<Subscription> {
    await this.ensureTopics(topics);
    const { brokers, clientId, topicPrefix, sessionTimeoutMs, onLag, sasl, tls } = this.settings;
    const consumer = new KafkaGroupConsumer(
      {
        brokers,
        clientId,
        group,
        groupId: `${topicPrefix}${group}`,
        topics: topics.map((t) => this.kafkaTopic(t)),
        toLogical: (t) => t.slice(topicPrefix.length),
        sessionTimeoutMs,
        onLag,
        security: { sasl, tls },
      },
      // Records on these topics were written by publish() with M's types.
      (records: RawRecord[]) => handler(records as LogRecord<M, T>[]),
      this.log.child({ component: 'kafka.consumer', group }),
    );
    try {
      await consumer.start();
    } catch (e) {
      throw new EventLogError(`could not join Kafka consumer group ${group}: ${kafkaFailureReason(e)}`, { cause: e });
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
      throw new EventLogError(`Kafka does not answer: ${kafkaFailureReason(e)}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.subscriptions.clear();
    await this.sending;
    await Promise.all([this.producer.close().catch(() => undefined), this.admin.close().catch(() => undefined)]);
  }

  /**
   * One produce request in flight at a time; callers that publish meanwhile share the next one.
   * The client's idempotent producer numbers each partition's batches when a request is built, so
   * concurrent requests can reach the broker out of order (OUT_OF_ORDER_SEQUENCE_NUMBER) and
   * leave the producer unusable; serialising prevents that, and coalescing keeps throughput.
   */
  private async sendPending(): Promise<void> {
    while (this.pending.length > 0) {
      let size = 0;
      let count = 0;
      while (count < this.pending.length && (count === 0 || size + this.pending[count].messages.length <= MAX_SEND)) {
        size += this.pending[count].messages.length;
        count++;
      }
      const batch = this.pending.splice(0, count);
      try {
        await this.producer.send({ messages: batch.flatMap((b) => b.messages) });
        for (const b of batch) b.resolve();
      } catch (e) {
        const error = new EventLogError(`Kafka did not accept ${size} record(s)`, { cause: e });
        for (const b of batch) b.reject(error);
        // After a failed request the producer's sequence numbers may no longer match the broker's:
        // a new producer (new producer id) starts clean. Callers retry; consumers are idempotent.
        const broken = this.producer;
        this.producer = this.createProducer();
        void broken.close().catch(() => undefined);
      }
    }
  }

  private createProducer(): Producer<string, string, string, string> {
    const producer = new Producer({
      clientId: this.settings.clientId,
      bootstrapBrokers: this.settings.brokers,
      ...connectionOptions(this.settings),
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      partitioner: compatibilityPartitioner,
    });
    producer.on('error', (e: Error) => this.log.warn({ err: e }, 'Kafka producer error'));
    return producer;
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
        await this.admin.createTopics({ topics: missing, partitions, replicas: replicationFactor }).catch((e: unknown) => {
          if (!onlyTopicsAlreadyExist(e)) throw e;
        });
        this.log.info({ topics: missing, partitions, replication_factor: replicationFactor }, 'Kafka topics created');
      }
    } catch (e) {
      throw new EventLogError(`could not create Kafka topics ${wanted.join(', ')}: ${kafkaFailureReason(e)}`, { cause: e });
    }
    for (const t of wanted) this.existing.add(t);
  }
}
