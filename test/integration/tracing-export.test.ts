/**
 * A real `chat4all start` with OTEL_EXPORTER_OTLP_ENDPOINT posts its spans as OTLP/HTTP to
 * `<endpoint>/v1/traces` (flushed on SIGTERM at the latest) and logs the trace id of each request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, eventually } from '../support/harness.ts';
import { freePort, spawnChat4all } from '../support/process.ts';

interface OtlpSpan {
  name: string;
  traceId: string;
  parentSpanId?: string;
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** A stand-in OTLP/HTTP collector that keeps every JSON export it receives. */
async function fakeCollector(): Promise<{ url: string; exports: { path: string; body: OtlpExport }[]; server: Server }> {
  const exports: { path: string; body: OtlpExport }[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      exports.push({ path: req.url ?? '', body: JSON.parse(data) as OtlpExport });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports, server };
}

describe('OTLP export from a running process', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('exports the spans of a message with the service resource, and logs their trace id', async () => {
    const collector = await fakeCollector();
    cleanup.push(() => new Promise((resolve) => collector.server.close(resolve)));
    const db = await freshDatabase('pglite');
    cleanup.push(db.drop);
    const port = await freePort();
    const c4 = await spawnChat4all(
      ['start'],
      { ...db.env, OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`, LOG_LEVEL: 'debug', RATE_LIMIT_ENABLED: 'false' },
      port,
    );
    cleanup.push(() => (c4.child.exitCode === null ? c4.stop() : Promise.resolve()));
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${c4.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const token = (await post('/auth/token', { username: 'user1', password: 'password123' })).body.access_token as string;
    const auth = { authorization: `Bearer ${token}` };
    const conversationId = (await post('/v1/conversations', { type: 'private', member_ids: [2] }, auth)).body.conversation_id;
    const traceId = randomBytes(16).toString('hex');
    const id = randomUUID();
    const sent = await post(
      '/v1/messages',
      { message_id: id, conversation_id: conversationId, payload: { type: 'text', content: 'exported' } },
      { ...auth, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    );
    expect(sent.status).toBe(202);
    await eventually(async () => ((await (await fetch(`${c4.url}/v1/messages/${id}`, { headers: auth })).json()) as any).status === 'sent');

    expect(await c4.stop()).toBe(0); // SIGTERM flushes what the batch processor still holds
    const spans = collector.exports.flatMap((e) => e.body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    expect(collector.exports.every((e) => e.path === '/v1/traces')).toBe(true);
    expect(spans.filter((s) => s.traceId === traceId).map((s) => s.name)).toEqual(
      expect.arrayContaining(['POST /v1/messages', 'message.accept', 'message.route']),
    );
    const resource = Object.fromEntries(collector.exports[0].body.resourceSpans[0].resource.attributes.map((a) => [a.key, a.value.stringValue]));
    expect(resource).toMatchObject({ 'service.name': 'chat4all', 'chat4all.roles': 'api,relay,router,connectors,status,inbound,scheduler,push,webhooks' });
    const requestLog = c4
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"request"') && l.includes('"route":"/v1/messages"'));
    expect(requestLog, 'the request log line').toBeDefined();
    expect(JSON.parse(requestLog ?? '{}').trace_id).toBe(traceId);
  }, 90_000);
});
