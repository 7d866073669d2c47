/**
 * Prometheus metrics of every Chat4All process. Names are part of the operations contract:
 * dashboards (observability/) and alert rules use them, and a test checks they exist.
 */
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const counter = (name: string, help: string, labelNames: string[] = []) => new client.Counter({ name, help, labelNames, registers: [registry] });
const gauge = (name: string, help: string, labelNames: string[] = []) => new client.Gauge({ name, help, labelNames, registers: [registry] });
const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) =>
  new client.Histogram({ name, help, labelNames, buckets, registers: [registry] });

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

let poolStats: (() => { total: number; idle: number; waiting: number }) | undefined;
/** Lets the database adapter report its pool on each scrape. */
export const reportPoolStats = (source: typeof poolStats) => (poolStats = source);

export const metrics = {
  dbPool: new client.Gauge({
    name: 'chat4all_db_pool_connections',
    help: 'Database pool connections',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = poolStats?.();
      if (!s) return;
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    },
  }),
  httpDuration: histogram('http_request_duration_seconds', 'HTTP request latency', ['method', 'route', 'status_code'], latencyBuckets),
  messagesAccepted: counter('chat4all_messages_accepted_total', 'Messages committed by POST /v1/messages'),
  messageStatus: counter('chat4all_message_status_total', 'Message status transitions', ['status']),
  pipelineLatency: histogram('chat4all_pipeline_latency_seconds', 'Time from acceptance to a status', ['status'], latencyBuckets),
  channelDeliveries: counter('chat4all_channel_deliveries_total', 'Per-channel delivery outcomes', ['channel', 'status']),
  connectorSends: counter('chat4all_connector_sends_total', 'Connector send attempts', ['channel', 'result']),
  connectorErrors: counter('chat4all_connector_errors_total', 'Failed connector sends by error class (ConnectorErrorClass)', ['channel', 'error_class']),
  connectorSendDuration: histogram('chat4all_connector_send_seconds', 'Time a platform took to answer a send', ['channel'], latencyBuckets),
  webhookEvents: counter('chat4all_webhook_events_total', 'Inbound webhook requests and events by outcome (verified, rejected, stored, duplicate)', [
    'channel',
    'outcome',
  ]),
  pushNotifications: counter('chat4all_push_notifications_total', 'Web Push sends by outcome (accepted, gone, failed)', ['outcome']),
  deadLettered: counter('chat4all_dead_lettered_total', 'Deliveries moved to the dead-letter queue', ['channel']),
  outboxBacklog: gauge('chat4all_outbox_backlog', 'Outbox rows not yet published to the event log'),
  dlqSize: gauge('chat4all_dlq_size', 'Dead letters not yet replayed'),
  wsConnections: gauge('chat4all_ws_connections', 'Open WebSocket connections on this instance'),
  rateLimitHits: counter('chat4all_rate_limit_hits_total', 'Requests refused by a rate limit', ['class']),
  dbTransactionDuration: histogram('chat4all_db_transaction_duration_seconds', 'Database transaction latency', ['name'], latencyBuckets),
  /** operation: the statement's first keyword (select, insert, …; see sqlOperation), never its text. */
  dbQueryDuration: histogram('chat4all_db_query_duration_seconds', 'Database statement latency, by SQL operation', ['operation'], latencyBuckets),
  eventsPublished: counter('chat4all_events_published_total', 'Records appended to the event log', ['topic']),
  eventsConsumed: counter('chat4all_events_consumed_total', 'Records handled by a consumer', ['topic', 'group']),
  consumerLag: gauge('chat4all_consumer_lag', 'Records behind the end of the log', ['topic', 'partition', 'group']),
  webhookDeliveries: counter('chat4all_webhook_deliveries_total', 'Outbound webhook delivery attempts by outcome (succeeded, retrying, failed)', ['outcome']),
  webhookLatency: histogram('chat4all_webhook_delivery_seconds', 'Time a webhook receiver took to answer (or to time out)', [], latencyBuckets),
  webhookBacklog: gauge('chat4all_webhook_backlog', 'Outbound webhook deliveries not yet succeeded or failed, per endpoint', ['endpoint_id']),
  uploadsCleaned: counter('uploads_cleaned_total', 'Abandoned uploads removed by the garbage collector'),
  // A histogram: one observation per run (pushed by the CronJob), so quantiles over days of runs work.
  cleanupDuration: histogram('cleanup_duration_seconds', 'Duration of garbage-collection runs', [], [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800]),
};

// Each outcome from the start, so that rates are defined before the first attempt of each kind.
for (const outcome of ['succeeded', 'retrying', 'failed']) metrics.webhookDeliveries.inc({ outcome }, 0);
