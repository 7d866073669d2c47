import type { BatchHandler, EventLog, LogRecord, Subscription } from '../../ports/event-log.ts';

const MAX_BATCH = 500;
const RETRY_PAUSE_MS = 200;

/**
 * In-process event log for the embedded mode. Each consumer group has one queue per topic,
 * drained in order by one loop. Not durable: records in flight are lost with the process, and
 * the pipeline's recovery (outbox, unrouted sweep, delivery leases) re-creates them on start.
 */
type RawRecord = LogRecord<Record<string, unknown>>;

export class MemoryEventLog<M extends object = Record<string, unknown>> implements EventLog<M> {
  readonly isDurable = false;
  private readonly groups = new Map<string, { topics: Set<string>; queues: Map<string, Consumer> }>();

  async publish(records: LogRecord<M>[]): Promise<void> {
    for (const r of records) {
      for (const g of this.groups.values()) if (g.topics.has(r.topic)) g.queues.get(r.topic)?.push(r);
    }
  }

  async subscribe<T extends keyof M & string>(group: string, topics: readonly T[], handler: BatchHandler<M, T>): Promise<Subscription> {
    if (this.groups.has(group)) throw new Error(`consumer group ${group} already subscribed in this process`);
    // A queue only holds records of its own topic, which publish() took with M's types.
    const queues = new Map(topics.map((t) => [t as string, new Consumer((records) => handler(records as LogRecord<M, T>[]))]));
    this.groups.set(group, { topics: new Set(topics), queues });
    return {
      stop: async () => {
        this.groups.delete(group);
        await Promise.all([...queues.values()].map((q) => q.stop()));
      },
    };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    const all = [...this.groups.values()].flatMap((g) => [...g.queues.values()]);
    this.groups.clear();
    await Promise.all(all.map((q) => q.stop()));
  }
}

class Consumer {
  private queue: RawRecord[] = [];
  private running: Promise<void> | undefined;
  private isStopped = false;

  constructor(private readonly handler: (records: RawRecord[]) => Promise<void>) {}

  push(r: RawRecord): void {
    if (this.isStopped) return;
    this.queue.push(r);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.isStopped) {
      const batch = this.queue.slice(0, MAX_BATCH);
      try {
        await this.handler(batch);
        this.queue.splice(0, batch.length);
      } catch {
        // The handler logs its own failure; the same batch is retried after a pause.
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    await this.running;
  }
}
