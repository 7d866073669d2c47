import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger } from './logger.ts';
import { currentTraceHeaders, currentTraceparent, detached, isTracing, startTracing, withBatchSpans, withSpan, type Tracing } from './tracing.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const OTHER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = (traceId: string, spanId = 'b7ad6b7169203331') => `00-${traceId}-${spanId}-01`;

/** A logger writing JSON lines into an array. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  return { log: createLogger('info', 'test', sink), lines };
}

// Tracing is process-wide state: the "off" cases run before it is started.
describe('tracing off', () => {
  it('runs the work without a span, adds no headers and no log fields', async () => {
    expect(isTracing()).toBe(false);
    const seen = await withSpan('work', traceparent(TRACE), async (span) => ({ span, headers: currentTraceHeaders(), parent: currentTraceparent() }));
    expect(seen).toEqual({ span: undefined, headers: undefined, parent: undefined });
    expect(await withBatchSpans('batch', [1], { keyOf: String, parentOf: () => traceparent(TRACE) }, async (headersFor) => headersFor('1'))).toBeUndefined();
    const { log, lines } = capturingLogger();
    log.info({ a: 1 }, 'hello');
    expect(lines[0]).toMatchObject({ a: 1, msg: 'hello' });
    expect(lines[0]).not.toHaveProperty('trace_id');
  });
});

describe('tracing on', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  beforeAll(() => void (tracing = startTracing({ exporter })));
  afterAll(async () => tracing?.shutdown());

  it('continues a traceparent, nests spans and ends them when the promise settles', async () => {
    const inner = await withSpan('outer', traceparent(TRACE), () => withSpan('inner', undefined, async () => currentTraceparent()));
    const [innerSpan, outerSpan] = exporter.getFinishedSpans().slice(-2);
    expect([innerSpan.name, outerSpan.name]).toEqual(['inner', 'outer']);
    expect(outerSpan.spanContext().traceId).toBe(TRACE);
    expect(outerSpan.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(innerSpan.parentSpanContext?.spanId).toBe(outerSpan.spanContext().spanId);
    expect(inner).toBe(traceparent(TRACE, innerSpan.spanContext().spanId));
  });

  it('marks a span failed when its work throws, and rethrows', async () => {
    await expect(withSpan('failing', undefined, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(() =>
      withSpan('failing-sync', undefined, () => {
        throw new Error('bang');
      }),
    ).toThrow('bang');
    const [asyncSpan, syncSpan] = exporter.getFinishedSpans().slice(-2);
    expect(asyncSpan.status).toMatchObject({ code: 2, message: 'boom' });
    expect(syncSpan.status).toMatchObject({ code: 2, message: 'bang' });
  });

  it('a batch span continues the first item; items of other traces get linked spans of their own', async () => {
    const items = [
      { id: 'a', parent: traceparent(TRACE) },
      { id: 'b', parent: traceparent(OTHER_TRACE) },
      { id: 'c', parent: undefined },
    ];
    const before = exporter.getFinishedSpans().length;
    const headers = await withBatchSpans('batch', items, { keyOf: (i) => i.id, parentOf: (i) => i.parent }, async (headersFor) => ({
      a: headersFor('a')?.traceparent,
      b: headersFor('b')?.traceparent,
      c: headersFor('c')?.traceparent,
      active: currentTraceparent(),
    }));
    const spans = exporter.getFinishedSpans().slice(before);
    const main = spans.find((s) => s.spanContext().traceId === TRACE);
    const other = spans.find((s) => s.spanContext().traceId === OTHER_TRACE);
    expect(spans.map((s) => s.name)).toEqual(['batch', 'batch']);
    expect(main?.attributes['messaging.batch.message_count']).toBe(3);
    expect(other?.links.map((l) => l.context.spanId)).toEqual([main?.spanContext().spanId]);
    expect(headers.a).toBe(headers.active);
    expect(headers.c).toBe(headers.active); // no context of its own: the batch's
    expect(headers.b).toBe(traceparent(OTHER_TRACE, other?.spanContext().spanId));
  });

  it('detached work sees no active span', async () => {
    await withSpan('request', undefined, () => expect(detached(() => currentTraceparent())).toBeUndefined());
  });

  it('logs inside a span carry its trace id; a trace_id given explicitly wins', async () => {
    const { log, lines } = capturingLogger();
    await withSpan('logged', traceparent(OTHER_TRACE), async () => {
      log.info('inside');
      log.child({ component: 'x' }).info({ trace_id: 'explicit' }, 'explicit');
    });
    log.info('outside');
    expect(lines.map((l) => [l.msg, l.trace_id])).toEqual([
      ['inside', OTHER_TRACE],
      ['explicit', 'explicit'],
      ['outside', undefined],
    ]);
  });
});
