/**
 * Every metric a Grafana dashboard or a Prometheus alert rule uses has a sample (not only its
 * # HELP / # TYPE lines) in a running `chat4all api` or `chat4all worker` process after some
 * traffic, or belongs to a named exporter. A metric that is declared but never recorded would
 * leave its panel and alert silently empty. The static check in test/deploy reads src/metrics.ts;
 * this one asks the processes themselves, in the distributed topology (PostgreSQL, Kafka, Redis).
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, type Deployment } from '../support/deployment.ts';
import { hasServices, kafkaBrokers, redisUrl } from '../support/services.ts';
import { postgresUrl } from '../support/stores.ts';
import { EXPORTER_NAMES, EXPORTER_PREFIXES, ROOT, promqlMetrics, read } from '../deploy/support.ts';

const hasStack = hasServices('metrics inventory', 'postgres', 'kafka', 'redis');

/** Names of the series that have at least one sample (HELP and TYPE lines do not count). */
function sampledNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? [-+0-9.eEInfNa]+$/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

/** Each PromQL expression of observability/: dashboard targets and query variables, alert rules. */
function observabilityExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const dir = path.join(ROOT, 'observability');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(read(path.join(dir, file))) as {
      panels?: unknown;
      templating?: { list?: { name: string; type: string; query?: unknown; definition?: string }[] };
    };
    const walk = (node: unknown, title: string): void => {
      if (Array.isArray(node)) return node.forEach((n) => walk(n, title));
      if (!node || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      const here = typeof o.title === 'string' ? o.title : title;
      for (const [key, value] of Object.entries(o)) {
        if (key === 'expr' && typeof value === 'string') out.push({ where: `${file} "${here}"`, expr: value });
        else walk(value, here);
      }
    };
    walk(dashboard.panels, '');
    for (const v of dashboard.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? v.definition ?? '');
      const selector = /^label_values\((.+),\s*\w+\)$/.exec(q.trim())?.[1];
      if (selector) out.push({ where: `${file} variable ${v.name}`, expr: selector });
    }
  }
  const rules = parseYaml(read('observability/prometheus/alerts.yml')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  for (const r of rules.groups.flatMap((g) => g.rules)) out.push({ where: `alerts.yml ${r.alert ?? r.record}`, expr: r.expr });
  return out;
}

const isNamedExporter = (name: string) => EXPORTER_NAMES.includes(name) || EXPORTER_PREFIXES.some((p) => name.startsWith(p));

describe.skipIf(!hasStack)('metrics used by dashboards and alerts have samples in running processes after traffic', () => {
  let d: Deployment | undefined;
  const scraped: Record<'api' | 'worker', Set<string>> = { api: new Set(), worker: new Set() };

  beforeAll(async () => {
    // A low auth limit, so that a burst of sign-ins is refused (chat4all_rate_limit_hits_total).
    d = await startDeployment({
      postgresUrl: postgresUrl ?? '',
      kafkaBrokers,
      redisUrl: redisUrl ?? '',
      apis: 1,
      workers: 1,
      env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '6', WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_RETRY_BASE_MS: '200' },
    });
    const alice = await d.user('alice');
    const bob = await d.user('bob');
    // A webhook endpoint nobody listens on: attempts fail and wait for retries (deliveries, latency, backlog).
    const endpoint = { url: 'http://127.0.0.1:9/hooks', events: ['message.created'] };
    expect((await d.request(0, 'POST', '/v1/webhooks/endpoints', { token: alice.token, body: endpoint })).status).toBe(201);
    const conversation = await d.request(0, 'POST', '/v1/conversations', { token: alice.token, body: { type: 'private', member_ids: [bob.id] } });
    expect(conversation.status, JSON.stringify(conversation.body)).toBeLessThan(300);
    const conversationId = conversation.body.conversation_id as number;
    // Delivered on WhatsApp; refused for good by Instagram (over its 1000 characters): a dead letter.
    const send = async (content: string, channels: string[]) => {
      const id = randomUUID();
      const res = await d!.request(0, 'POST', '/v1/messages', {
        token: alice.token,
        body: { message_id: id, conversation_id: conversationId, payload: { type: 'text', content }, channels },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      return id;
    };
    const delivered = await send('hello', ['whatsapp']);
    const dead = await send('x'.repeat(1500), ['instagram']);
    const statusOf = async (id: string) => (await d!.request(0, 'GET', `/v1/messages/${id}`, { token: alice.token })).body?.status;
    for (const [id, final] of [
      [delivered, 'delivered'],
      [dead, 'failed'],
    ]) {
      const deadline = Date.now() + 60_000;
      while ((await statusOf(id)) !== final && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await statusOf(id), `message ${id}`).toBe(final);
    }
    for (let i = 0; i < 10; i++)
      if ((await d.request(0, 'POST', '/auth/token', { body: { username: 'nobody', password: 'wrong-password' } })).status === 429) break;
    // Gauges and lag are refreshed periodically (consumer lag every 5 s once a group member has
    // joined, the webhook backlog on the webhook sender's tick): scrape until both are reported,
    // for 30 s at most, then assert on what is there.
    const deadline = Date.now() + 30_000;
    for (;;) {
      for (const [role, p] of [
        ['api', d.apis[0]],
        ['worker', d.workers[0]],
      ] as const) {
        const res = await fetch(`${p.metricsUrl}/metrics`);
        expect(res.status, `${role} /metrics`).toBe(200);
        scraped[role] = sampledNames(await res.text());
      }
      const periodic = ['chat4all_consumer_lag', 'chat4all_webhook_backlog'];
      if (periodic.every((m) => scraped.worker.has(m) || scraped.api.has(m)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }, 240_000);

  afterAll(async () => d?.close(), 60_000);

  it('scrapes samples of our metric families from both processes', () => {
    for (const role of ['api', 'worker'] as const) {
      expect([...scraped[role]], role).toEqual(expect.arrayContaining(['chat4all_outbox_backlog', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes']));
    }
    expect([...scraped.api]).toEqual(
      expect.arrayContaining(['chat4all_messages_accepted_total', 'http_request_duration_seconds_bucket', 'chat4all_db_query_duration_seconds_bucket']),
    );
    expect([...scraped.worker]).toEqual(expect.arrayContaining(['chat4all_db_query_duration_seconds_bucket']));
  });

  it('every metric of every dashboard and alert rule has a sample in the API or a worker, or comes from a named exporter', () => {
    const sampled = new Set([...scraped.api, ...scraped.worker]);
    const used = observabilityExpressions().flatMap(({ where, expr }) => {
      const { metrics, errors } = promqlMetrics(expr);
      expect(errors, `${where}: ${expr}`).toEqual([]);
      return metrics.map((metric) => ({ where, metric }));
    });
    expect(used.length, 'the dashboards and rules use metrics').toBeGreaterThan(20);
    expect(
      used.some((u) => u.metric === 'chat4all_db_transaction_duration_seconds_bucket'),
      'the database dashboard',
    ).toBe(true);
    const missing = used.filter((u) => !sampled.has(u.metric) && !isNamedExporter(u.metric)).map((u) => `${u.where}: ${u.metric}`);
    expect(missing).toEqual([]);
  });
});
