/** Runs one role's handler on its topics: each batch in its records' own traces, counted, and retried by the log when it throws. */
import type { BatchHandler, EventLog, Subscription } from '../ports/event-log.ts';
import type { LogTopic, LogTopics } from '../domain/log-topics.ts';
import type { Logger } from '../app/logger.ts';
import type { Role } from '../config.ts';
import { metrics } from '../metrics.ts';
import { detached } from '../tracing.ts';

export async function consume<T extends LogTopic>(
  log: EventLog,
  logger: Logger,
  role: Role,
  topics: readonly T[],
  handler: BatchHandler<LogTopics, T>,
): Promise<Subscription> {
  const roleLog = logger.child({ component: `worker.${role}` });
  return log.subscribe(role, topics, async (records) => {
    try {
      // Each record's span continues the trace in its headers, not whatever context started the consumer.
      await detached(() => handler(records));
      for (const r of records) metrics.eventsConsumed.inc({ topic: r.topic, group: role });
    } catch (e) {
      roleLog.error({ err: e, records: records.length }, 'batch failed, will retry');
      throw e;
    }
  });
}
