/**
 * observability/: dashboards and alert rules parse as PromQL and only use metrics that exist
 * (exported by src/metrics.ts, prom-client defaults, or a named exporter); the Prometheus,
 * Alertmanager and Grafana provisioning files hang together with docker-compose.yml.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT, compose, exportedMetrics, isKnownMetric, promqlMetrics, read } from './support.ts';

const exported = exportedMetrics();
const OBS = path.join(ROOT, 'observability');

interface Target {
  expr?: string;
  refId?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  gridPos?: { h: number; w: number; x: number; y: number };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string | { query?: string }; definition?: string }[] };
}

const DASHBOARDS = ['api_health.json', 'message_pipeline.json', 'database_performance.json', 'kafka_lag.json'];
const load = (name: string) => JSON.parse(read(path.join(OBS, name))) as Dashboard;
const flatPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...flatPanels(p.panels ?? [])]);

/** Problems of one PromQL expression: syntax errors and unknown metric names. */
function checkExpr(expr: string): string[] {
  const { metrics, errors } = promqlMetrics(expr);
  const unknown = metrics.filter((m) => !isKnownMetric(m, exported)).map((m) => `unknown metric ${m}`);
  if (metrics.length === 0 && errors.length === 0) return ['selects no metric'];
  return [...errors, ...unknown];
}

describe('metric inventory', () => {
  it('reads the metric names from src/metrics.ts', () => {
    for (const m of [
      'http_request_duration_seconds_bucket',
      'chat4all_outbox_backlog',
      'chat4all_consumer_lag',
      'uploads_cleaned_total',
      'cleanup_duration_seconds',
    ]) {
      expect(exported.has(m), m).toBe(true);
    }
  });

  it('the PromQL checker catches syntax errors and unknown metrics', () => {
    expect(checkExpr('sum(rate(chat4all_messages_accepted_total[5m]))')).toEqual([]);
    expect(checkExpr('histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[$__rate_interval])))')).toEqual([]);
    expect(checkExpr('sum(rate(chat4all_messages_sent_total[5m]))')).toEqual(['unknown metric chat4all_messages_sent_total']);
    expect(checkExpr('sum(rate(chat4all_messages_accepted_total[5m])')).not.toEqual([]);
    expect(checkExpr('up == 0 and pg_up == 0 or kube_job_status_failed > 0 or nodejs_heap_size_used_bytes > 0')).toEqual([]);
  });
});

/** Labels a scrape config only has when it relabels pod metadata; kube-state-metrics series carry namespace, pod and deployment of their own. */
const RELABELLED = ['component', 'pod', 'namespace', 'kubernetes_namespace', 'kubernetes_pod_name', 'app', 'container'];
const OWN_LABELS_PREFIXES = ['kube_'];

/** Labels an expression needs on series that come from scraping Chat4All (selectors, by/on/without clauses). */
function relabelledLabelsUsed(expr: string): string[] {
  const out: string[] = [];
  for (const [, metric, matchers] of expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)) {
    if (OWN_LABELS_PREFIXES.some((p) => metric.startsWith(p))) continue;
    for (const [, label] of matchers.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) if (RELABELLED.includes(label)) out.push(`${metric}{${label}}`);
  }
  if (!OWN_LABELS_PREFIXES.some((p) => expr.includes(p)))
    for (const [, labels] of expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g))
      for (const l of labels.split(',').map((x) => x.trim())) if (RELABELLED.includes(l)) out.push(`by/on (${l})`);
  return out;
}

describe('plain prometheus.io/* annotation scraping is enough', () => {
  it('the checker finds relabelled labels', () => {
    expect(relabelledLabelsUsed('sum(rate(http_request_duration_seconds_count{component="api"}[5m]))')).toEqual([
      'http_request_duration_seconds_count{component}',
    ]);
    expect(relabelledLabelsUsed('sum by (pod) (chat4all_ws_connections)')).toEqual(['by/on (pod)']);
    expect(relabelledLabelsUsed('kube_deployment_status_replicas_available{namespace="chat4all", deployment="api"}')).toEqual([]);
  });

  it('no dashboard query and no alert rule needs a label that only a relabelling config creates', () => {
    const problems: string[] = [];
    for (const name of DASHBOARDS)
      for (const p of flatPanels(load(name).panels))
        for (const t of p.targets ?? []) for (const l of relabelledLabelsUsed(t.expr ?? '')) problems.push(`${name} "${p.title}": ${l}`);
    for (const r of rules) for (const l of relabelledLabelsUsed(r.expr)) problems.push(`alert ${r.alert}: ${l}`);
    expect(problems).toEqual([]);
  });

  it('the database and upload-GC metrics the deployment README names are histograms the dashboards and alerts read', () => {
    // src/metrics.ts: chat4all_db_query_duration_seconds (label operation) and cleanup_duration_seconds as histograms.
    for (const m of ['chat4all_db_query_duration_seconds_bucket', 'cleanup_duration_seconds_bucket'])
      expect(exported.has(m), `${m} (a histogram in src/metrics.ts)`).toBe(true);
    expect(read('src/metrics.ts')).toMatch(/'chat4all_db_query_duration_seconds'[\s\S]{0,300}?\[\s*'operation'\s*\]/);
    const dbQueries = flatPanels(load('database_performance.json').panels).filter((p) =>
      (p.targets ?? []).some((t) => (t.expr ?? '').includes('chat4all_db_query_duration_seconds')),
    );
    expect(dbQueries.length).toBeGreaterThanOrEqual(6);
    expect(rules.some((r) => r.expr.includes('chat4all_db_query_duration_seconds_bucket'))).toBe(true);
    const gc = flatPanels(load('message_pipeline.json').panels).filter((p) =>
      (p.targets ?? []).some((t) => (t.expr ?? '').includes('cleanup_duration_seconds_bucket')),
    );
    expect(gc.length).toBeGreaterThan(0);
  });
});

describe('Grafana dashboards', () => {
  it('the four dashboards exist, with unique uids', () => {
    const uids = DASHBOARDS.map((d) => load(d).uid);
    expect(new Set(uids).size).toBe(4);
    const json = readdirSync(OBS).filter((f) => f.endsWith('.json'));
    expect(json.sort()).toEqual([...DASHBOARDS].sort());
  });

  it.each(DASHBOARDS)('%s: every query parses and uses known metrics', (name) => {
    const d = load(name);
    const problems: string[] = [];
    for (const p of flatPanels(d.panels)) {
      for (const t of p.targets ?? []) {
        if (!t.expr) problems.push(`${p.title}: target ${t.refId} has no expr`);
        else for (const e of checkExpr(t.expr)) problems.push(`${p.title} [${t.refId}]: ${e}`);
      }
    }
    for (const v of d.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? '');
      const m = /^label_values\((.+),\s*\w+\)$/.exec(q.trim());
      if (!m) problems.push(`variable ${v.name}: unsupported query ${q}`);
      else for (const e of checkExpr(m[1])) problems.push(`variable ${v.name}: ${e}`);
    }
    expect(problems).toEqual([]);
  });

  it.each(DASHBOARDS)('%s: panels have unique ids, a layout and the datasource variable', (name) => {
    const d = load(name);
    const panels = flatPanels(d.panels);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(d.templating?.list.some((v) => v.type === 'datasource' && v.name === 'datasource')).toBe(true);
    for (const p of panels) {
      expect(p.gridPos, p.title).toBeDefined();
      if (p.type !== 'row') {
        expect(p.targets?.length, `${p.title} has queries`).toBeGreaterThan(0);
        expect(p.datasource?.uid, p.title).toBe('${datasource}');
      }
    }
  });

  it.each([
    ['api_health.json', ['request rate', 'error rate', 'latency', 'websocket', 'rate-limit', 'instances']],
    ['message_pipeline.json', ['accepted', 'latency', 'outbox', 'consumer lag', 'dead', 'deliveries by channel', 'connector']],
    ['database_performance.json', ['latency', 'pool', 'transactions', 'slow', 'postgresql']],
    ['kafka_lag.json', ['lag by group', 'lag by partition', 'brokers']],
  ] as const)('%s covers %j', (name, topics) => {
    const titles = flatPanels(load(name).panels).map((p) => p.title.toLowerCase());
    for (const t of topics)
      expect(
        titles.some((x) => x.includes(t)),
        `a panel about "${t}"`,
      ).toBe(true);
  });

  it('each dashboard uses the metrics of its topic', () => {
    const uses = (name: string) => new Set(flatPanels(load(name).panels).flatMap((p) => (p.targets ?? []).flatMap((t) => promqlMetrics(t.expr ?? '').metrics)));
    expect([...uses('api_health.json')]).toEqual(
      expect.arrayContaining([
        'http_request_duration_seconds_count',
        'http_request_duration_seconds_bucket',
        'chat4all_ws_connections',
        'chat4all_rate_limit_hits_total',
        'up',
      ]),
    );
    expect([...uses('message_pipeline.json')]).toEqual(
      expect.arrayContaining([
        'chat4all_messages_accepted_total',
        'chat4all_pipeline_latency_seconds_bucket',
        'chat4all_outbox_backlog',
        'chat4all_consumer_lag',
        'chat4all_dlq_size',
        'chat4all_dead_lettered_total',
        'chat4all_channel_deliveries_total',
        'chat4all_connector_sends_total',
      ]),
    );
    expect([...uses('database_performance.json')]).toEqual(
      expect.arrayContaining(['chat4all_db_transaction_duration_seconds_bucket', 'chat4all_db_pool_connections', 'pg_stat_activity_max_tx_duration']),
    );
    expect([...uses('kafka_lag.json')]).toEqual(expect.arrayContaining(['kafka_consumergroup_lag', 'chat4all_consumer_lag']));
  });
});

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rulesFile = parseYaml(read('observability/prometheus/alerts.yml')) as { groups: { name: string; rules: Rule[] }[] };
const rules = rulesFile.groups.flatMap((g) => g.rules);

describe('Prometheus alert rules', () => {
  it('are well-formed: unique names, severity, summary, valid durations', () => {
    const names = rules.map((r) => r.alert ?? r.record);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.alert, 'only alerting rules here').toBeTruthy();
      expect(['critical', 'warning'], `${r.alert} severity`).toContain(r.labels?.severity);
      expect(r.annotations?.summary, `${r.alert} summary`).toBeTruthy();
      if (r.for !== undefined) expect(r.for, `${r.alert} for`).toMatch(/^(\d+(ms|s|m|h|d|w|y))+$/);
    }
  });

  it.each(rules.map((r) => [r.alert ?? '', r] as const))('%s: expression parses and uses known metrics', (_n, r: Rule) => {
    expect(checkExpr(r.expr)).toEqual([]);
  });

  it.each([
    ['Chat4AllApiHighErrorRate', /status_code=~"5\.\."/, /> 0\.05\s*$/],
    ['Chat4AllConsumerLagHigh', /chat4all_consumer_lag/, /> 10000\s*$/],
    ['Chat4AllDeadLettered', /chat4all_dead_lettered_total/, /> 0\s*$/],
    ['Chat4AllDlqGrowing', /chat4all_dlq_size/, /> 0\s*$/],
    ['Chat4AllOutboxBacklog', /chat4all_outbox_backlog/, />\s*\d+\s*$/],
    ['Chat4AllDbPoolSaturated', /chat4all_db_pool_connections/, /> 0\s*$/],
    ['Chat4AllNoReadyApiPods', /kube_deployment_status_replicas_available\{[^}]*deployment="api"/, /< 1\s*$/],
    ['Chat4AllUploadGcFailed', /kube_job_status_failed\{[^}]*upload-garbage-collector/, /> 0\s*$/],
  ] as const)('%s watches what it should', (name, metric, threshold) => {
    const r = rules.find((x) => x.alert === name);
    expect(r, name).toBeDefined();
    expect(r?.expr).toMatch(metric);
    expect(r?.expr).toMatch(threshold);
  });
});

describe('Alertmanager example', () => {
  const am = parseYaml(read('observability/prometheus/alertmanager.example.yml')) as {
    route: { receiver: string; routes?: { receiver: string; matchers?: string[] }[] };
    receivers: { name: string }[];
  };

  it('routes to receivers that exist, and every severity the rules use is routed', () => {
    const receivers = new Set(am.receivers.map((r) => r.name));
    expect(receivers.has(am.route.receiver)).toBe(true);
    for (const r of am.route.routes ?? []) expect(receivers.has(r.receiver), r.receiver).toBe(true);
    const matchers = (am.route.routes ?? []).flatMap((r) => r.matchers ?? []).join(' ');
    for (const sev of new Set(rules.map((r) => r.labels?.severity ?? ''))) expect(matchers).toContain(sev);
  });

  it('holds placeholders, not credentials', () => {
    const text = read('observability/prometheus/alertmanager.example.yml');
    expect(text).toContain('REPLACE_ME');
    expect(text).not.toMatch(/hooks\.slack\.com\/services\/T[A-Z0-9]+\//);
  });
});

describe('Prometheus and Grafana wiring for docker-compose', () => {
  const services = compose().services;
  const mounts = (name: string) =>
    (services[name].volumes ?? []).filter((v): v is string => typeof v === 'string').map((v) => v.split(':') as [string, string, string?]);

  it('prometheus.yml loads the mounted alert rules and scrapes the API and the workers with a component label', () => {
    const prom = parseYaml(read('observability/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; relabel_configs?: { target_label?: string; replacement?: string }[] }[];
    };
    const targets = mounts('prometheus').map(([, target]) => target);
    for (const f of prom.rule_files) expect(targets, `rule file ${f} is mounted`).toContain(f);
    for (const component of ['api', 'worker']) {
      const job = prom.scrape_configs.find((j) => (j.relabel_configs ?? []).some((r) => r.target_label === 'component' && r.replacement === component));
      expect(job, `a scrape job labels component=${component}`).toBeDefined();
    }
    expect(mounts('prometheus').some(([src]) => src === './observability/prometheus/prometheus.yml')).toBe(true);
  });

  it('Grafana provisions the Prometheus datasource and the dashboards from the mounted folder', () => {
    const provisioning = mounts('grafana').find(([, target]) => target === '/etc/grafana/provisioning');
    expect(provisioning).toBeDefined();
    const dir = path.join(ROOT, provisioning?.[0] ?? '');
    const ds = parseYaml(read(path.join(dir, 'datasources/prometheus.yml'))) as { datasources: { type: string; url: string }[] };
    expect(ds.datasources[0].type).toBe('prometheus');
    expect(ds.datasources[0].url).toBe('http://prometheus:9090');
    const providers = parseYaml(read(path.join(dir, 'dashboards/chat4all.yml'))) as { providers: { options: { path: string } }[] };
    const dashboardsMount = mounts('grafana').find(([, target]) => target === providers.providers[0].options.path);
    expect(dashboardsMount, 'the provider path is a mount of the grafana service').toBeDefined();
    for (const d of DASHBOARDS) expect(existsSync(path.join(ROOT, dashboardsMount?.[0] ?? '', d)), d).toBe(true);
  });
});
