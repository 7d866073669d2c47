/**
 * Shared readers for the deployment tests: Kubernetes manifests, docker-compose.yml, the
 * configuration names that src/config.ts reads, the CLI's subcommands, the metric names that
 * src/metrics.ts exports and PromQL metric extraction. Everything is offline and static.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const K8S_DIR = path.join(ROOT, 'k8s');
export const rel = (file: string) => path.relative(ROOT, file);
export const read = (file: string) => readFileSync(path.isAbsolute(file) ? file : path.join(ROOT, file), 'utf8');

// ---------------------------------------------------------------------------- Kubernetes types
// Only the fields the tests look at; the schema test checks everything else.
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
export interface Probe {
  httpGet?: { path?: string; port: number | string };
}
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; allowPrivilegeEscalation?: boolean; privileged?: boolean; readOnlyRootFilesystem?: boolean };
}
export interface PodSpec {
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; fsGroup?: number };
  initContainers?: Container[];
  containers: Container[];
}
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}
export interface Manifest {
  file: string; // relative to the repository root
  doc: K8sObject;
}

/**
 * Directories under k8s/ that kustomize does not apply: Helm values (not Kubernetes objects), the
 * Traefik variant of the Ingress (an alternative to k8s/ingress/, same object name) and extras
 * that need CRDs (Chaos Mesh). Their own tests read them.
 */
export const NOT_APPLIED_DIRS = ['helm-values', 'ingress-traefik', 'extras'].map((d) => path.join(K8S_DIR, d));

/** Every *.yaml / *.yml file under k8s/ that kustomize applies (and the secret template), recursively, sorted. */
export function k8sFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (NOT_APPLIED_DIRS.includes(full)) continue;
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(name)) out.push(full);
    }
  };
  walk(K8S_DIR);
  return out;
}

/** Parses every YAML document of a file; a syntax error throws with the file name. */
export function yamlDocs(file: string): unknown[] {
  const docs = parseAllDocuments(read(file));
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const d of list) {
    if (d.errors.length > 0) throw new Error(`${rel(file)}: ${d.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = d.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export const KUSTOMIZATION = path.join(K8S_DIR, 'kustomization.yaml');
export const SECRET_TEMPLATE = path.join(K8S_DIR, 'secrets', 'app-secrets.yaml');
export const CONFIGMAP_FILE = path.join(K8S_DIR, 'configmaps', 'app-config.yaml');

/** All Kubernetes API objects under k8s/ (the kustomization file is not one), template included. */
export function manifests(): Manifest[] {
  return k8sFiles()
    .filter((f) => f !== KUSTOMIZATION)
    .flatMap((f) => yamlDocs(f).map((doc) => ({ file: rel(f), doc: doc as K8sObject })));
}

export interface Workload {
  manifest: Manifest;
  template: PodTemplate;
}

/** Pod templates of Deployments, StatefulSets, DaemonSets, Jobs and CronJobs. */
export function workloads(list: Manifest[] = manifests()): Workload[] {
  const out: Workload[] = [];
  for (const m of list) {
    const spec = m.doc.spec as { template?: PodTemplate; jobTemplate?: { spec?: { template?: PodTemplate } } } | undefined;
    const template = m.doc.kind === 'CronJob' ? spec?.jobTemplate?.spec?.template : spec?.template;
    if (template && ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(m.doc.kind)) out.push({ manifest: m, template });
  }
  return out;
}

export const allContainers = (t: PodTemplate): Container[] => [...(t.spec.initContainers ?? []), ...t.spec.containers];

/** The image every Chat4All role runs (the deployment README's `kubectl set image … chat4all/api:<tag>`). */
export const IMAGE_REPOSITORY = 'chat4all/api';
/** Containers of our image; the backup CronJob's pg_dump and curl containers are third-party. */
export const isChat4allContainer = (c: Container) => (c.image ?? '').replace(/:[\w.-]+$/, '') === IMAGE_REPOSITORY;
/** Workloads whose containers all run our image. */
export const chat4allWorkloads = (list: Manifest[] = manifests()): Workload[] =>
  workloads(list).filter((w) => allContainers(w.template).every(isChat4allContainer));

export function find(list: Manifest[], kind: string, name: string): K8sObject {
  const hit = list.find((m) => m.doc.kind === kind && m.doc.metadata.name === name);
  if (!hit) throw new Error(`no ${kind} named ${name} under k8s/`);
  return hit.doc;
}

export function workload(list: Manifest[], kind: string, name: string): PodTemplate {
  const hit = workloads(list).find((w) => w.manifest.doc.kind === kind && w.manifest.doc.metadata.name === name);
  if (!hit) throw new Error(`no ${kind} named ${name} under k8s/`);
  return hit.template;
}

/** True when a label selector selects a set of labels (matchLabels and matchExpressions). */
export function selects(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Kubernetes quantity → number (cores for CPU, bytes for memory). */
export function quantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  const units: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  if (!(m[2] in units)) throw new Error(`unknown quantity unit in ${q}`);
  return Number(m[1]) * units[m[2]];
}

// ---------------------------------------------------------------------------- docker compose
export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  profiles?: string[];
  ports?: unknown[];
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml with anchors and merge keys (`<<: *x`) resolved. */
export function compose(): ComposeFile {
  return parseYaml(read('docker-compose.yml'), { merge: true }) as ComposeFile;
}

/** Services that run our image (they are the ones bound by config.ts and the CLI). */
export function chat4allServices(file: ComposeFile = compose()): [string, ComposeService][] {
  return Object.entries(file.services).filter(([, s]) => s.build !== undefined || (s.image ?? '').startsWith('chat4all/'));
}

export function composeEnvNames(s: ComposeService): string[] {
  if (!s.environment) return [];
  if (Array.isArray(s.environment)) return s.environment.map((e) => e.split('=')[0]);
  return Object.keys(s.environment);
}

export const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean));

// ---------------------------------------------------------------------------- config.ts
export const CONFIG_TS = 'src/config.ts';

/** config.ts and the files it hands its environment readers to (the channels' settings). */
export const CONFIG_SOURCES = [CONFIG_TS, 'src/config-channels.ts'];

/**
 * The environment names src/config.ts reads: every 'NAME' string literal, plus names built
 * from template literals such as `RATE_LIMIT_${c.toUpperCase()}_PER_MINUTE` or
 * `${c.toUpperCase()}_RATE_PER_SECOND` (the `${…}` part matches an upper-case word).
 */
export function configNames(): { literals: Set<string>; patterns: RegExp[] } {
  const src = CONFIG_SOURCES.map((f) => read(f)).join('\n');
  const literals = new Set([...src.matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]));
  const patterns = [...src.matchAll(/`([A-Z0-9_]*)\$\{[^}]+\}([A-Z0-9_]*)`/g)]
    .filter((m) => m[1] !== '' || m[2] !== '')
    .map((m) => new RegExp(`^${m[1]}[A-Z][A-Z0-9]*${m[2]}$`));
  return { literals, patterns };
}

export function isConfigName(name: string, names = configNames()): boolean {
  return names.literals.has(name) || names.patterns.some((p) => p.test(name));
}

/** Worker roles: ALL_ROLES in config.ts without 'api'. */
export function workerRoles(): string[] {
  const m = /ALL_ROLES[^=]*=\s*\[([^\]]*)\]/.exec(read(CONFIG_TS));
  if (!m) throw new Error('ALL_ROLES not found in src/config.ts');
  return [...m[1].matchAll(/'([a-z-]+)'/g)].map((x) => x[1]).filter((r) => r !== 'api');
}

// ---------------------------------------------------------------------------- CLI
/** The subcommands documented for the product, used until src/cli/commands.ts exists. */
export const DOCUMENTED_SUBCOMMANDS = ['start', 'api', 'worker', 'gc', 'migrate', 'users', 'dlq'] as const;
export const COMMANDS_TS = 'src/cli/commands.ts';

/** Subcommands from src/cli/commands.ts (export COMMANDS: object keys or names) or the constant above. */
export async function subcommands(): Promise<{ names: Set<string>; source: string }> {
  const file = path.join(ROOT, COMMANDS_TS);
  if (!existsSync(file)) return { names: new Set(DOCUMENTED_SUBCOMMANDS), source: 'DOCUMENTED_SUBCOMMANDS in test/deploy/support.ts' };
  const mod = (await import(pathToFileURL(file).href)) as { COMMANDS?: unknown };
  const c = mod.COMMANDS;
  let names: string[] = [];
  if (Array.isArray(c)) names = c.map((x: unknown) => (typeof x === 'string' ? x : String((x as { name?: unknown }).name)));
  else if (c && typeof c === 'object') names = Object.keys(c);
  if (names.length === 0) throw new Error(`${COMMANDS_TS} exports no COMMANDS list`);
  return { names: new Set(names), source: COMMANDS_TS };
}

/** How a container may start the CLI: the image entrypoint (no command), `chat4all` or node + the bin. */
export function cliArgs(command: string[] | undefined, args: string[] | undefined): string[] | undefined {
  const cmd = command ?? [];
  if (cmd.length === 0) return args ?? [];
  if (cmd[0] === 'chat4all') return [...cmd.slice(1), ...(args ?? [])];
  if (cmd[0] === 'node' && /(^|\/)bin\/chat4all\.js$/.test(cmd[1] ?? '')) return [...cmd.slice(2), ...(args ?? [])];
  return undefined; // not the chat4all CLI
}

/** Problems with one chat4all invocation (empty when it is valid). */
export function checkInvocation(argv: string[], commands: Set<string>, roles: string[]): string[] {
  const [cmd, ...rest] = argv;
  if (!cmd) return ['no subcommand (the image default would run `start`; name the role explicitly)'];
  if (!commands.has(cmd)) return [`"${cmd}" is not a chat4all subcommand (known: ${[...commands].join(', ')})`];
  const problems: string[] = [];
  if (cmd === 'worker') {
    const i = rest.findIndex((a) => a === '--roles' || a.startsWith('--roles='));
    if (i >= 0) {
      const value = rest[i].includes('=') ? rest[i].split('=')[1] : rest[i + 1];
      const listed = (value ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      if (listed.length === 0) problems.push('worker --roles has no value');
      for (const r of listed) if (!roles.includes(r)) problems.push(`unknown worker role "${r}" (known: ${roles.join(', ')})`);
    }
  }
  if (cmd === 'users' && !['create', 'list'].includes(rest[0] ?? '')) problems.push('users needs create or list');
  if (cmd === 'dlq' && !['list', 'replay'].includes(rest[0] ?? '')) problems.push('dlq needs list or replay');
  return problems;
}

// ---------------------------------------------------------------------------- metrics
/** Metric names src/metrics.ts registers; histograms also expose _bucket, _count and _sum. */
export function exportedMetrics(): Set<string> {
  const src = read('src/metrics.ts');
  const out = new Set<string>();
  const calls = [
    ...src.matchAll(/\b(counter|gauge|histogram|summary)\(\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g), // helper('name', …)
    ...src.matchAll(/\bnew\s+(?:\w+\.)?(Counter|Gauge|Histogram|Summary)\s*\(\s*\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g), // new client.Gauge({ name: 'name', … })
  ];
  for (const [, type, name] of calls) {
    out.add(name);
    if (type.toLowerCase() === 'histogram') for (const s of ['_bucket', '_count', '_sum']) out.add(name + s);
    if (type.toLowerCase() === 'summary') for (const s of ['_count', '_sum']) out.add(name + s);
  }
  return out;
}

/** prom-client's default metrics and the exporters the dashboards may rely on. */
export const DEFAULT_METRIC_PREFIXES = ['process_', 'nodejs_'];
export const EXPORTER_PREFIXES = ['pg_', 'redis_', 'kafka_', 'kube_'];
export const EXPORTER_NAMES = ['up'];

export function isKnownMetric(name: string, exported: Set<string>): boolean {
  return exported.has(name) || EXPORTER_NAMES.includes(name) || [...DEFAULT_METRIC_PREFIXES, ...EXPORTER_PREFIXES].some((p) => name.startsWith(p));
}

/** Grafana's built-in interval variables, replaced by a duration before parsing. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$\{?__(rate_interval|interval|range)(_ms|_s)?\}?/g, '5m');
}

/**
 * Parses a PromQL expression (the parser Prometheus' own UI uses) and returns the metric
 * names it selects, or the syntax errors it has.
 */
export function promqlMetrics(expr: string): { metrics: string[]; errors: string[] } {
  const text = withoutGrafanaVariables(expr);
  const tree = promqlParser.parse(text);
  const metrics: string[] = [];
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: "${text.slice(Math.max(0, node.from - 20), node.to + 20)}"`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metrics.push(text.slice(node.from, node.to));
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'LabelMatcher') {
        const m = /^__name__\s*=\s*"([^"]+)"$/.exec(text.slice(node.from, node.to).trim());
        if (m) metrics.push(m[1]);
      }
    },
  });
  return { metrics, errors };
}
