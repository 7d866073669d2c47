/**
 * OpenTelemetry: one trace per message, from the HTTP request through the outbox, the event log
 * and the workers to the WebSocket pushes, recorded by an in-memory exporter.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind, startTracing, type Tracing } from '../../src/tracing.ts';
import { startInstance, TestSocket, eventually, uuid, type TestInstance } from '../support/harness.ts';
import { privateConversation } from '../support/factories.ts';
import { storeKinds, type StoreKind } from '../support/stores.ts';
import { hasServices, kafkaBrokers, redisUrl } from '../support/services.ts';

const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
// Tracing is process-wide: one provider for every instance of this file.
beforeAll(() => void (tracing = startTracing({ exporter })));
afterAll(async () => tracing?.shutdown());

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const spanId = (s: ReadableSpan) => s.spanContext().spanId;
const traceId = (s: ReadableSpan) => s.spanContext().traceId;

// Embedded on each store; and with the context crossing real Kafka record headers and Redis pub/sub.
const topologies: [string, StoreKind, Record<string, string>][] = storeKinds().map((kind) => [`embedded on ${kind}`, kind, {}]);
if (hasServices('tracing through Kafka and Redis', 'kafka', 'redis', 'postgres')) {
  const run = uuid().slice(0, 8);
  topologies.push([
    'through Kafka and Redis',
    'postgres',
    {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: `trace-${run}.`,
      KAFKA_PARTITIONS: '2',
      REDIS_URL: redisUrl ?? '',
      REDIS_KEY_PREFIX: `trace-${run}:`,
    },
  ]);
}

describe.each(topologies)('tracing, %s', (_name, kind, env) => {
  let c4: TestInstance;
  beforeAll(async () => {
    c4 = await startInstance(kind, env);
  });
  afterAll(async () => c4?.close());

  /** The finished spans of a message: every span whose attributes name it, plus the pushes of its trace. */
  const spansOf = (messageId: string) => {
    const all = exporter.getFinishedSpans();
    const accept = all.find((s) => s.name === 'message.accept' && s.attributes['chat4all.message_id'] === messageId);
    return accept ? all.filter((s) => traceId(s) === traceId(accept)) : [];
  };
  const one = (spans: ReadableSpan[], name: string, match: (s: ReadableSpan) => boolean = () => true) => {
    const found = spans.filter((s) => s.name === name && match(s));
    expect(
      found.map((s) => s.name),
      `exactly one ${name}`,
    ).toEqual([name]);
    return found[0];
  };
  const expectChild = (child: ReadableSpan, parent: ReadableSpan) => {
    expect(traceId(child), `${child.name} is in the trace of ${parent.name}`).toBe(traceId(parent));
    expect(child.parentSpanContext?.spanId, `${child.name} is a child of ${parent.name}`).toBe(spanId(parent));
  };

  it('follows a message from the HTTP request through accept, route, deliver and status to the WebSocket pushes', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    const conversationId = await privateConversation(c4, alice, bob);
    const bobWs = await TestSocket.connect(c4.wsUrl(bob.token));
    await bobWs.next((f) => f.type === 'connected');
    // Status pushes go to the sender's devices.
    const aliceWs = await TestSocket.connect(c4.wsUrl(alice.token));
    await aliceWs.next((f) => f.type === 'connected');

    // The caller's trace context (W3C traceparent) is continued, not replaced.
    const callerTrace = hex(16);
    const callerSpan = hex(8);
    const id = uuid();
    const sent = await c4.request('POST', '/v1/messages', {
      token: alice.token,
      headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` },
      body: {
        message_id: id,
        conversation_id: conversationId,
        payload: { type: 'text', content: 'traced' },
        channels: ['internal', 'whatsapp'],
        to: '+15550001',
      },
    });
    expect(sent.status).toBe(202);
    await aliceWs.next((f) => f.type === 'message.status' && f.message_id === id && f.channel === 'whatsapp' && f.status === 'delivered');

    const spans = await eventually(() => {
      const s = spansOf(id);
      // Pushes leave before the span that made them ends (a status push precedes its commit).
      const isComplete = ['POST /v1/messages', 'message.route', 'channel.deliver', 'status.apply'].every((name) => s.some((x) => x.name === name));
      return s.filter((x) => x.name === 'ws.push').length >= 3 && isComplete && s;
    });
    const http = one(spans, 'POST /v1/messages');
    const accept = one(spans, 'message.accept');
    const route = one(spans, 'message.route');
    const deliver = one(spans, 'channel.deliver');
    const status = one(spans, 'status.apply');
    const pushCreated = one(spans, 'ws.push', (s) => s.attributes['chat4all.event'] === 'message.created');
    const pushes = spans.filter((s) => s.name === 'ws.push' && s.attributes['chat4all.event'] === 'message.status');

    expect(traceId(http)).toBe(callerTrace);
    expect(http.parentSpanContext?.spanId).toBe(callerSpan);
    expect(http.kind).toBe(SpanKind.SERVER);
    expect(http.attributes).toMatchObject({ 'http.route': '/v1/messages', 'http.response.status_code': 202 });
    expectChild(accept, http);
    expectChild(pushCreated, accept); // the fast path
    expectChild(route, accept); // through the outbox row's headers and the event log
    expectChild(deliver, route); // through the channel.whatsapp record's headers
    expect(deliver.attributes).toMatchObject({ 'chat4all.channel': 'whatsapp', 'chat4all.attempt': 1 });
    expectChild(status, deliver); // through the status record's headers
    // `sent` is pushed by the router, `delivered` for the channel by the status worker.
    expect(pushes.map((p) => p.parentSpanContext?.spanId).sort()).toEqual(expect.arrayContaining([spanId(route), spanId(status)].sort()));
    for (const p of pushes) expect(traceId(p)).toBe(callerTrace);
    for (const s of [route, deliver, status]) expect(s.kind).toBe(SpanKind.CONSUMER);
    expect(
      [...bobWs.frames, ...aliceWs.frames].filter((f) => 'traceparent' in f),
      'clients never see the trace context',
    ).toEqual([]);
    bobWs.close();
    aliceWs.close();
  });

  it('gives each message a trace of its own when the client sends no context', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    const conversationId = await privateConversation(c4, alice, bob);
    const ids = [uuid(), uuid()];
    for (const id of ids) {
      const res = await c4.request('POST', '/v1/messages', {
        token: alice.token,
        body: { message_id: id, conversation_id: conversationId, payload: { type: 'text', content: id } },
      });
      expect(res.status).toBe(202);
    }
    const [first, second] = await Promise.all(ids.map((id) => eventually(() => spansOf(id).find((s) => s.name === 'message.route') && spansOf(id))));
    const root = (spans: ReadableSpan[]) => one(spans, 'POST /v1/messages');
    expect(root(first).parentSpanContext).toBeUndefined();
    expect(traceId(root(first))).not.toBe(traceId(root(second)));
  });

  it('problem documents carry the trace id of the request', async () => {
    const alice = await c4.user('alice');
    const trace = hex(16);
    const res = await c4.request('POST', '/v1/messages', {
      token: alice.token,
      headers: { traceparent: `00-${trace}-${hex(8)}-01` },
      body: { message_id: 'not-a-uuid' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation-failed', trace_id: trace });
  });

  it('does not trace probes and scrapes', async () => {
    const before = exporter.getFinishedSpans().length;
    for (const url of ['/health', '/ready', '/metrics']) expect((await c4.request('GET', url)).status).toBe(200);
    expect(
      exporter
        .getFinishedSpans()
        .slice(before)
        .filter((s) => s.kind === SpanKind.SERVER),
    ).toEqual([]);
  });
});
