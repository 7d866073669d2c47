/**
 * One consumer-group member of the Kafka event log. It reads the partitions Kafka assigns to it,
 * hands their records to the handler in batches (in offset order within each partition),
 * commits a partition's offset only after the handler resolved, retries a failing batch until it
 * succeeds or its partitions move to another member, and reconnects after the stream breaks
 * (a broker restart, say).
 */
import { Consumer, stringDeserializers, type Message, type MessagesStream } from '@platformatic/kafka';
import type { LogRecord, Subscription } from '../../ports/event-log.ts';

/** A record as read from Kafka: any topic, a parsed JSON value. */
export type RawRecord = LogRecord<Record<string, unknown>>;
import type { Logger } from '../../app/logger.ts';
import { connectionOptions, refusedForGood, type KafkaSecurity } from './kafka-connection.ts';

type KafkaMessage = Message<string, string, string, string>;

/** Records behind the end of one partition for one group; `lag` undefined = no longer assigned here. */
export interface LagSample {
  topic: string;
  partition: number;
  group: string;
  lag: number | undefined;
}

export interface GroupConsumerSettings {
  brokers: string[];
  clientId: string;
  /** The group as the application names it, and as Kafka knows it (with the deployment's prefix). */
  group: string;
  groupId: string;
  /** Kafka topic names (prefixed); `toLogical` turns one back into the application's name. */
  topics: string[];
  toLogical(topic: string): string;
  sessionTimeoutMs: number;
  onLag?: (sample: LagSample) => void;
  security?: KafkaSecurity;
}

const MAX_BATCH = 500;
const LAG_INTERVAL_MS = 5000;
const CLOSE_TIMEOUT_MS = 5000;
/** Tries to join the group at start (about 3 s of backoff between them) before start() gives up. */
const START_ATTEMPTS = 5;
/** Backoff between retries of a failing batch and between reconnects: 200 ms doubling to 5 s. */
const backoff = (attempt: number) => Math.min(5000, 200 * 2 ** (attempt - 1));

export class KafkaGroupConsumer implements Subscription {
  private consumer: Consumer<string, string, string, string> | undefined;
  private stream: MessagesStream<string, string, string, string> | undefined;
  private failure: Error | undefined;
  private isStopping = false;
  /** Pending sleeps: resolve function → whether it waits for new data. */
  private readonly sleepers = new Map<() => void, boolean>();
  private running: Promise<void> | undefined;
  /** Next offset to hand out per "topic:partition": drops records fetched again after a rebalance. */
  private readonly nextOffsets = new Map<string, bigint>();
  private readonly lagReported = new Set<string>();

  constructor(
    private readonly settings: GroupConsumerSettings,
    private readonly handler: (records: RawRecord[]) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /**
   * Joins the group and starts consuming. Processes that start together join the same new group
   * and topics at once, and the broker can refuse a join meanwhile for reasons that pass (a
   * rebalance, a leader not yet elected): those are retried a few times. Rejects when Kafka
   * cannot be reached or refuses for good (credentials, ACLs).
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.connect();
        break;
      } catch (e) {
        await this.disconnect();
        if (attempt >= START_ATTEMPTS || refusedForGood(e)) throw e;
        this.log.warn({ err: e, group: this.settings.group, attempt }, 'could not join the Kafka consumer group yet; retrying');
        await this.pause(backoff(attempt));
      }
    }
    this.running = this.run();
  }

  /** Finishes the batch in flight (committing it), then leaves the group so its partitions move at once. */
  async stop(): Promise<void> {
    this.isStopping = true;
    this.wake();
    await this.running;
    await this.disconnect();
    for (const key of this.lagReported) {
      const [topic, partition] = splitKey(key);
      this.settings.onLag?.({ topic: this.settings.toLogical(topic), partition, group: this.settings.group, lag: undefined });
    }
    this.lagReported.clear();
  }

  private async connect(): Promise<void> {
    const { brokers, clientId, groupId, topics, sessionTimeoutMs, security } = this.settings;
    this.failure = undefined;
    const consumer = new Consumer({
      clientId,
      groupId,
      bootstrapBrokers: brokers,
      ...connectionOptions(security ?? {}),
      deserializers: stringDeserializers,
      autocommit: false,
      // The rebalance timeout bounds how long a rebalance waits for a member that died mid-way.
      sessionTimeout: sessionTimeoutMs,
      rebalanceTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.min(1000, sessionTimeoutMs / 3),
      maxWaitTime: 500,
      highWaterMark: 2 * MAX_BATCH,
    });
    this.consumer = consumer;
    // A failed re-join is reported as an 'error' event; unhandled it would crash the process.
    // Events of a consumer or stream already replaced by a reconnect are ignored.
    consumer.on('error', (e: Error) => this.consumer === consumer && this.fail(e));
    consumer.on('consumer:group:join', () => this.forgetRevoked());
    consumer.on('consumer:lag', (lag: Map<string, bigint[]>) => this.reportLag(lag));
    const stream = await consumer.consume({ topics, mode: 'committed', fallbackMode: 'earliest', autocommit: false });
    this.stream = stream;
    stream.on('error', (e: Error) => this.stream === stream && this.fail(e));
    stream.on('end', () => this.stream === stream && this.fail(new Error('the Kafka stream ended')));
    // One permanent listener keeps the stream in paused mode, which is what read() needs.
    stream.on('readable', () => this.wake(true));
    consumer.startLagMonitoring({ topics }, LAG_INTERVAL_MS);
  }

  private async disconnect(): Promise<void> {
    const { consumer, stream } = this;
    this.consumer = undefined;
    this.stream = undefined;
    consumer?.stopLagMonitoring();
    if (stream) await withTimeout(stream.close(), CLOSE_TIMEOUT_MS).catch(() => undefined);
    if (consumer) {
      // Leaving the group lets its partitions move at once; when Kafka does not answer, just drop the connections.
      const forced = () => new Promise<void>((resolve) => consumer.close(true, () => resolve()));
      await withTimeout(consumer.close(), CLOSE_TIMEOUT_MS).catch(() => withTimeout(forced(), CLOSE_TIMEOUT_MS).catch(() => undefined));
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }

  private async run(): Promise<void> {
    while (!this.isStopping) {
      try {
        await this.consume();
      } catch (e) {
        if (this.isStopping) break;
        this.log.warn({ err: e, group: this.settings.group }, 'Kafka consumer lost its stream; reconnecting');
        await this.disconnect();
        await this.reconnect();
      }
    }
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 1; !this.isStopping; attempt++) {
      await this.pause(backoff(attempt));
      if (this.isStopping) return;
      try {
        await this.connect();
        this.log.info({ group: this.settings.group, attempt }, 'Kafka consumer reconnected');
        return;
      } catch (e) {
        this.log.warn({ err: e, group: this.settings.group, attempt }, 'Kafka consumer reconnect failed');
        await this.disconnect();
      }
    }
  }

  /** Returns when stopping; throws when the stream broke. */
  private async consume(): Promise<void> {
    for (;;) {
      const batch = await this.nextBatch();
      if (!batch) return;
      await this.process(batch);
    }
  }

  private async nextBatch(): Promise<KafkaMessage[] | undefined> {
    for (;;) {
      if (this.isStopping) return undefined;
      if (this.failure) throw this.failure;
      const stream = this.stream;
      if (!stream || stream.destroyed) throw new Error('the Kafka stream is closed');
      const batch: KafkaMessage[] = [];
      let message: KafkaMessage | null;
      while (batch.length < MAX_BATCH && (message = stream.read() as KafkaMessage | null) !== null) batch.push(message);
      if (batch.length > 0) return batch;
      // Woken by 'readable', a failure or stop; the timer is only a safety net.
      await this.pause(1000, true);
    }
  }

  /**
   * Hands the batch to the handler in one call (fewer, larger transactions than one call per
   * partition), in offset order within each partition, and commits each partition's last offset
   * once the handler resolved. A failing batch is retried whole, minus the partitions that moved
   * to another member meanwhile (it continues from their last committed offset).
   */
  private async process(batch: KafkaMessage[]): Promise<void> {
    const fresh = batch.filter((m) => m.offset >= (this.nextOffsets.get(`${m.topic}:${m.partition}`) ?? 0n));
    const converted = new Map(fresh.map((m) => [m, this.toRecord(m)]));
    let owned = fresh;
    for (let attempt = 1; ; attempt++) {
      owned = owned.filter((m) => this.isAssigned(m.topic, m.partition));
      if (owned.length === 0) return;
      try {
        const records = owned.flatMap((m) => converted.get(m) ?? []);
        if (records.length > 0) await this.handler(records);
        break;
      } catch (e) {
        this.log.debug({ err: e, records: owned.length, attempt }, 'batch handler failed; retrying');
        if (this.isStopping) return;
        await this.pause(backoff(attempt));
        if (this.isStopping) return;
      }
    }
    const lastOfPartition = new Map(owned.map((m) => [`${m.topic}:${m.partition}`, m]));
    for (const [key, last] of lastOfPartition) this.nextOffsets.set(key, last.offset + 1n);
    // One commit request for the whole batch, not one per partition: each request costs the
    // worker and the broker a round trip, and a batch often spans every partition.
    const offsets = [...lastOfPartition.values()].map((m) => ({ topic: m.topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: -1 }));
    try {
      await this.consumer?.commit({ offsets });
    } catch (e) {
      // A rebalance in progress rejects commits; the next owner handles these records again (handlers are idempotent).
      this.log.debug({ err: e, partitions: offsets.length }, 'offset commit refused');
    }
  }

  private toRecord(m: KafkaMessage): RawRecord[] {
    let value: unknown;
    try {
      value = JSON.parse(m.value ?? 'null');
    } catch (e) {
      // A record that is not JSON can never succeed; skipping it keeps the partition moving.
      this.log.error({ err: e, topic: m.topic, partition: m.partition, offset: String(m.offset) }, 'skipped a record that is not JSON');
      return [];
    }
    const record: RawRecord = { topic: this.settings.toLogical(m.topic), key: m.key ?? '', value };
    if (m.headers.size > 0) record.headers = Object.fromEntries(m.headers);
    return [record];
  }

  private isAssigned(topic: string, partition: number): boolean {
    return this.consumer?.assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)) ?? false;
  }

  /** After a rebalance, partitions that left may come back with other offsets: forget what we knew of them. */
  private forgetRevoked(): void {
    for (const key of this.nextOffsets.keys()) {
      const [topic, partition] = splitKey(key);
      if (!this.isAssigned(topic, partition)) this.nextOffsets.delete(key);
    }
  }

  private reportLag(lag: Map<string, bigint[]>): void {
    const { onLag, group, toLogical } = this.settings;
    if (!onLag) return;
    for (const [topic, partitions] of lag) {
      partitions.forEach((l, partition) => {
        const key = `${topic}:${partition}`;
        // -1 means "not assigned to this member": another member reports it.
        if (l >= 0n) this.lagReported.add(key);
        else if (!this.lagReported.delete(key)) return;
        onLag({ topic: toLogical(topic), partition, group, lag: l >= 0n ? Number(l) : undefined });
      });
    }
  }

  /** Sleeps up to `ms`; stop() and a failure wake every sleeper, new data only the reader. */
  private pause(ms: number, isReader = false): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.set(done, isReader);
    });
  }

  private wake(onlyReader = false): void {
    for (const [done, isReader] of [...this.sleepers]) if (isReader || !onlyReader) done();
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf(':');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
