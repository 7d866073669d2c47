/**
 * Every metric a Grafana dashboard or a Prometheus alert rule uses is either scraped from a
 * running `chat4all api` or `chat4all worker` process, or belongs to a named exporter. The
 * static check in test/deploy reads src/metrics.ts; this one asks the processes themselves.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/harness.ts';
import { freePort, spawnChat4all, type ChildInstance } from '../support/process.ts';
import { storeKinds } from '../support/stores.ts';
import { EXPORTER_NAMES, EXPORTER_PREFIXES, ROOT, promqlMetrics, read } from '../deploy/support.ts';

// API and worker processes in the distributed topology need PostgreSQL (PGlite is one process's).
const hasPostgres = storeKinds().includes('postgres');

/** Series names of a Prometheus text exposition; a family that has no sample yet still counts (HELP/TYPE only). */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

/** Each PromQL expression of observability/: dashboard targets and query variables, alert rules. */
function observabilityExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const dir = path.join(ROOT, 'observability');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(read(path.join(dir, file))) as { panels?: unknown; templating?: { list?: { name: string; type: string; query?: unknown; definition?: string }[] } };
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

describe.skipIf(!hasPostgres)('metrics used by dashboards and alerts, scraped from running processes', () => {
  let drop: (() => Promise<void>) | undefined;
  const processes: ChildInstance[] = [];
  const scraped: Record<'api' | 'worker', Set<string>> = { api: new Set(), worker: new Set() };

  beforeAll(async () => {
    const db = await freshDatabase('postgres');
    drop = db.drop;
    // No Kafka or Redis: each process has its in-process adapters, which export the same metric families.
    const [api, worker] = await Promise.all([
      freePort().then((port) => spawnChat4all(['api'], db.env, port)),
      freePort().then((port) => spawnChat4all(['worker'], db.env, port)),
    ]);
    processes.push(api, worker);
    for (const [role, p] of [['api', api], ['worker', worker]] as const) {
      const res = await fetch(`${p.url}/metrics`);
      expect(res.status, `${role} /metrics`).toBe(200);
      scraped[role] = exposedNames(await res.text());
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await drop?.();
  }, 30_000);

  it('scrapes our metric families from both processes', () => {
    for (const role of ['api', 'worker'] as const) {
      expect([...scraped[role]], role).toEqual(expect.arrayContaining(['chat4all_messages_accepted_total', 'chat4all_outbox_backlog', 'http_request_duration_seconds_bucket', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes']));
    }
  });

  it('every metric of every dashboard and alert rule is exported by the API or a worker, or by a named exporter', () => {
    const exported = new Set([...scraped.api, ...scraped.worker]);
    const expressions = observabilityExpressions();
    const used = expressions.flatMap(({ where, expr }) => {
      const { metrics, errors } = promqlMetrics(expr);
      expect(errors, `${where}: ${expr}`).toEqual([]);
      return metrics.map((metric) => ({ where, metric }));
    });
    expect(used.length, 'the dashboards and rules use metrics').toBeGreaterThan(20);
    expect(used.some((u) => u.metric.startsWith('chat4all_')), 'some of them are ours').toBe(true);
    const missing = used.filter((u) => !exported.has(u.metric) && !isNamedExporter(u.metric)).map((u) => `${u.where}: ${u.metric}`);
    expect(missing).toEqual([]);
  });
});
