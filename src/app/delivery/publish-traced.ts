import type { EventLog, LogRecord } from '../../ports/event-log.ts';
import { metrics } from '../../metrics.ts';
import { currentTraceHeaders } from '../../tracing.ts';

/** Publishes records that carry the current span's trace context unless they bring their own; counts them per topic. */
export async function publishTraced(log: EventLog, records: LogRecord[]): Promise<void> {
  if (records.length === 0) return;
  const headers = currentTraceHeaders();
  if (headers) records = records.map((r) => (r.headers ? r : { ...r, headers }));
  await log.publish(records);
  for (const r of records) metrics.eventsPublished.inc({ topic: r.topic });
}
