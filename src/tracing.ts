/**
 * OpenTelemetry tracing: one trace per message, from the HTTP request through the outbox, the
 * event log (W3C trace context in record headers) and the workers to the WebSocket push.
 *
 * Off unless `startTracing` ran (OTEL_EXPORTER_OTLP_ENDPOINT set, or a test exporter): every
 * helper then returns after one check of a module variable, without touching the OpenTelemetry
 * API, so an untraced process pays no context propagation and no span objects.
 */
import os from 'node:os';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { VERSION } from './version.ts';

export { SpanKind, SpanStatusCode, type Span };

/** W3C trace context as carried in event-log record headers and outbox rows (`traceparent`, maybe `tracestate`). */
export type TraceHeaders = Record<string, string>;

export interface TracingOptions {
  /** OTLP/HTTP collector base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans are posted to `<endpoint>/v1/traces`. */
  endpoint?: string;
  /** Exports each span synchronously to this exporter instead (tests use an InMemorySpanExporter). */
  exporter?: SpanExporter;
  /** Extra resource attributes, e.g. the roles this process runs. */
  attributes?: Attributes;
}

export interface Tracing {
  /** Flushes the spans not yet exported and turns tracing off again. */
  shutdown(): Promise<void>;
}

let tracer: Tracer | undefined;

/** True when spans are recorded in this process. */
export const isTracing = (): boolean => tracer !== undefined;

/** Starts tracing for this process; undefined (tracing stays off) when there is nowhere to export to. */
export function startTracing(options: TracingOptions): Tracing | undefined {
  if (tracer) throw new Error('tracing is already started in this process');
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : options.endpoint
      ? new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` }))
      : undefined;
  if (!processor) return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: 'chat4all',
      [ATTR_SERVICE_VERSION]: VERSION,
      'service.instance.id': `${os.hostname()}:${process.pid}`,
      ...options.attributes,
    }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  tracer = trace.getTracer('chat4all', VERSION);
  return {
    shutdown: async () => {
      tracer = undefined;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
}

/**
 * Runs `fn` in a new active span, ended when `fn` returns or its promise settles (a throw marks
 * it failed). The parent is `parent` (a traceparent, e.g. from a record's headers) when given,
 * else the active span. With tracing off, `fn` runs with no span.
 */
export function withSpan<T>(name: string, parent: string | undefined, fn: (span: Span | undefined) => T, options: SpanOptions = {}): T {
  if (!tracer) return fn(undefined);
  return tracer.startActiveSpan(name, spanOptions(options), parentContext(parent), (span) => {
    let result: T;
    try {
      result = fn(span);
    } catch (e) {
      endSpan(span, e);
      throw e;
    }
    if (!isPromise(result)) {
      span.end();
      return result;
    }
    return result.then(
      (value) => (span.end(), value),
      (e: unknown) => {
        endSpan(span, e);
        throw e;
      },
    ) as T;
  });
}

/**
 * Runs `fn` outside any span: work that outlives the request that happened to trigger it (an
 * outbox relay woken by a send, a consumer loop started by a publish) must not join its trace.
 */
export function detached<T>(fn: () => T): T {
  return tracer ? context.with(ROOT_CONTEXT, fn) : fn();
}

/** Starts a span that the caller ends (work that begins and ends in different callbacks, like an HTTP request). */
export function startSpan(name: string, parent: string | undefined, options: SpanOptions = {}): Span | undefined {
  return tracer?.startSpan(name, spanOptions(options), parentContext(parent));
}

/** Runs `fn` with `span` as the active span. */
export function runInSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Ends a span, marking it failed when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
  }
  span.end();
}

/** The trace id of `span` (hex), or undefined when there is no (valid) span. */
export function traceIdOf(span: Span | undefined): string | undefined {
  const ctx = span?.spanContext();
  return ctx && isSpanContextValid(ctx) ? ctx.traceId : undefined;
}

/** The active span's trace id, for logs and problem documents. */
export function currentTraceId(): string | undefined {
  return tracer ? traceIdOf(trace.getActiveSpan()) : undefined;
}

/** The active span's W3C trace context as headers, to put on a record or an outbox row it causes. */
export function currentTraceHeaders(): TraceHeaders | undefined {
  if (!tracer || !trace.getActiveSpan()) return undefined;
  const carrier: TraceHeaders = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The active span's `traceparent`, for fan-out events (the gateway continues it for the WebSocket push). */
export function currentTraceparent(): string | undefined {
  return currentTraceHeaders()?.traceparent;
}

/** How a batch handler finds each item's key (a message id) and trace context. */
export interface BatchItems<I> {
  keyOf(item: I): string;
  parentOf(item: I): string | undefined;
}

/**
 * Runs the handler of a batch in one active span that continues the first item's trace. Every
 * item of another trace gets a span of the same name in its own trace (linked, ended together),
 * so each message keeps one trace of its own however the log batched it. `fn` receives
 * `headersFor(key)`: the trace headers for records caused by that item.
 */
export function withBatchSpans<I, T>(
  name: string,
  items: readonly I[],
  describe: BatchItems<I>,
  fn: (headersFor: (key: string) => TraceHeaders | undefined) => Promise<T>,
  options: SpanOptions = {},
): Promise<T> {
  const active = tracer;
  if (!active) return fn(() => undefined);
  const first = items.length > 0 ? describe.parentOf(items[0]) : undefined;
  return withSpan(
    name,
    first,
    async (main) => {
      const links = main ? [{ context: main.spanContext() }] : [];
      main?.setAttribute('messaging.batch.message_count', items.length);
      const spansByParent = new Map<string, Span>();
      const headersByKey = new Map<string, TraceHeaders>();
      for (const item of items) {
        const parent = describe.parentOf(item);
        if (!parent || parent === first) continue;
        let span = spansByParent.get(parent);
        if (!span) {
          span = active.startSpan(name, { ...spanOptions(options), links }, parentContext(parent));
          spansByParent.set(parent, span);
        }
        const carrier: TraceHeaders = {};
        propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
        headersByKey.set(describe.keyOf(item), carrier);
      }
      const own = currentTraceHeaders();
      try {
        const result = await fn((key) => headersByKey.get(key) ?? own);
        for (const span of spansByParent.values()) span.end();
        return result;
      } catch (e) {
        for (const span of spansByParent.values()) endSpan(span, e);
        throw e;
      }
    },
    options,
  );
}

/** The `traceparent` an event-log record (or anything with headers) carries, if any. */
export const traceparentOf = (record: { headers?: Record<string, string> } | undefined): string | undefined => record?.headers?.traceparent;

const parentContext = (parent: string | undefined) => (parent ? propagation.extract(ROOT_CONTEXT, { traceparent: parent }) : context.active());
const spanOptions = (options: SpanOptions) => ({ kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes });

const isPromise = <T>(value: T): value is T & Promise<Awaited<T>> => typeof (value as { then?: unknown } | null)?.then === 'function';
