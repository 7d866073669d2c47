import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, type TestInstance } from '../support/harness.ts';
import { storeKinds } from '../support/stores.ts';
import { checkingProblems, expectProblem, privateConversation, send } from '../support/factories.ts';

describe.each(storeKinds())('operations endpoints on %s', (kind) => {
  let c4: TestInstance;
  beforeAll(async () => {
    c4 = checkingProblems(await startInstance(kind));
  });
  afterAll(async () => c4?.close());

  it('/health says the process works', async () => {
    const res = await c4.request('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'healthy', version: expect.any(String) });
  });

  it('/ready answers 200 with a check per dependency', async () => {
    const res = await c4.request('GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.checks.database).toEqual({ healthy: true, latency_ms: expect.any(Number) });
    for (const check of Object.values(res.body.checks) as { healthy: boolean }[]) expect(check.healthy).toBe(true);
  });

  it('/metrics exposes our metric names in Prometheus text, counting accepted messages', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    await send(c4, alice.token, await privateConversation(c4, alice, bob), 'counted');
    const res = await c4.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
    const text = String(res.body);
    for (const name of [
      'chat4all_messages_accepted_total',
      'http_request_duration_seconds_bucket',
      'chat4all_ws_connections',
      'chat4all_outbox_backlog',
      'process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(`# TYPE ${name.replace(/_bucket$/, '')}`);
    }
    expect(Number(/^chat4all_messages_accepted_total (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/v1\/messages"[^}]*\} [1-9]/);
  });

  it('/metrics records the duration of database transactions, by name, in the store adapter', async () => {
    const alice = await c4.user('alice');
    const bob = await c4.user('bob');
    await send(c4, alice.token, await privateConversation(c4, alice, bob), 'relayed in a transaction');
    const count = async () =>
      Number(
        /^chat4all_db_transaction_duration_seconds_count\{name="relay-outbox"\} (\d+)/m.exec(String((await c4.request('GET', '/metrics')).body))?.[1] ?? 0,
      );
    const deadline = Date.now() + 10_000;
    while ((await count()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await count()).toBeGreaterThan(0);
    expect(String((await c4.request('GET', '/metrics')).body)).toMatch(
      /^chat4all_db_transaction_duration_seconds_bucket\{le="\+Inf",name="relay-outbox"\} [1-9]/m,
    );
  });

  it('/docs serves the OpenAPI UI as HTML', async () => {
    let res = await c4.request('GET', '/docs');
    if (res.status >= 300 && res.status < 400) res = await c4.request('GET', new URL(String(res.headers.location), 'http://x/docs/').pathname);
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
    expect(String(res.body)).toMatch(/swagger/i);
  });

  it('/openapi.json is OpenAPI 3 with the message path, problem responses and bearer security', async () => {
    const res = await c4.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const sendOp = doc.paths['/v1/messages'].post;
    expect(sendOp.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(sendOp.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '409']));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/auth/token',
        '/auth/register',
        '/v1/conversations',
        '/v1/conversations/{id}',
        '/v1/conversations/{id}/messages',
        '/v1/messages/{message_id}',
        '/v1/users',
      ]),
    );
    expect(Object.keys(doc.paths)).not.toContain('/health');
  });

  it('/openapi.json: parameters with defaults are optional, downloads are binary, message_id says why, conversations share field names', async () => {
    const doc = (await c4.request('GET', '/openapi.json')).body;
    const list = doc.paths['/v1/conversations'].get;
    const limit = list.parameters.find((p: any) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false, schema: { default: 50 } });
    for (const [path, item] of Object.entries<any>(doc.paths))
      for (const op of Object.values<any>(item))
        for (const p of op.parameters ?? []) if (p.schema?.default !== undefined) expect(p.required, `${path} ${p.name}`).not.toBe(true);
    const download = doc.paths['/v1/files/{file_id}/download'].get.responses;
    expect(download['200'].content['*/*'].schema).toEqual({ type: 'string', format: 'binary' });
    expect(download['206'].content['*/*'].schema).toEqual({ type: 'string', format: 'binary' });
    expect(download['302'].description).toMatch(/Location/);
    const send = doc.paths['/v1/messages'].post.requestBody.content['application/json'].schema;
    expect(send.properties.message_id.description).toMatch(/idempotent/);
    const item = list.responses['200'].content['application/json'].schema.properties.items.items.properties;
    const created = doc.paths['/v1/conversations'].post.responses['201'].content['application/json'].schema.properties;
    for (const name of ['conversation_id', 'type', 'name', 'description', 'created_at']) {
      expect(item, name).toHaveProperty(name);
      expect(created, name).toHaveProperty(name);
    }
    for (const alias of ['conversation_type', 'conversation_name', 'conversation_created_at']) expect(item[alias].deprecated, alias).toBe(true);
    expect(created.id.deprecated).toBe(true);
  });

  it('answers unknown routes and errors with problem+json carrying the trace id', async () => {
    const res = await c4.request('GET', '/nope', { headers: { 'x-request-id': 'trace-0123456789' } });
    const problem = expectProblem(res, 404, 'route-not-found');
    expect(problem.trace_id).toBe('trace-0123456789');
    expect(res.headers['x-request-id']).toBe('trace-0123456789');
    expect(problem.instance).toBe('/nope');
  });

  it('/ready answers 503 not_ready and routes answer 503 dependency-unavailable when the database is gone (last: it breaks the instance)', async () => {
    const { token } = await c4.user('late');
    await c4.app.db.close();
    const ready = await c4.request('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not_ready', checks: { database: { healthy: false } } });
    expect(ready.headers['retry-after']).toBeDefined();
    expect(ready.body.checks.database.error).toBe('unavailable');
    expect((await c4.request('GET', '/health')).status).toBe(200);
    const list = await c4.request('GET', '/v1/conversations', { token });
    expect(list.status).toBe(503);
    expect(list.body.code).toBe('dependency-unavailable');
    expect(list.headers['retry-after']).toBeDefined();
  });
});
