/**
 * Follows the deployment README our users start from (../shared/SEED-k8s-README.md) to the letter,
 * offline: its namespace, its Secret (the `--from-literal` keys it creates), then `kubectl apply -f`
 * of each directory in the order it gives. At every step, the objects applied so far must be
 * enough for the ones just applied: every reference (ServiceAccounts, Secrets and keys, ConfigMaps
 * and keys, PVCs, Service selectors and ports, HPA targets, probe ports, Ingress backends,
 * NetworkPolicy and PDB selectors) resolves inside that set, and the image names fit the README's
 * `kubectl set image` command. Nothing that `k8s/` leaves to optional directories may be needed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateObject } from './k8s-schema.ts';
import {
  type Container,
  type K8sObject,
  type LabelSelector,
  type Manifest,
  type PodTemplate,
  ROOT,
  allContainers,
  cliArgs,
  read,
  rel,
  selects,
  workloads,
  yamlDocs,
} from './support.ts';

/** CI keeps the shared documents beside the repository; SEED_K8S_README points elsewhere (a worktree). */
export const SEED_README = process.env.SEED_K8S_README ?? path.resolve(ROOT, '../shared/SEED-k8s-README.md');

export interface SeedPlan {
  namespace: string;
  secrets: Map<string, Map<string, string>>; // name -> key -> literal value
  applyDirs: string[]; // in the order the README applies them
  helm: { release: string; chart: string }[];
  setImage: { target: string; container: string; image: string }[];
}

/** Shell commands of the README's ```bash blocks, continuation lines joined, comments dropped. */
export function seedCommands(text: string): string[] {
  const blocks = [...text.matchAll(/```(?:bash|sh|shell)\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) =>
    b
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
}

/** The deployment sequence the README gives. */
export function seedPlan(text: string): SeedPlan {
  const plan: SeedPlan = { namespace: '', secrets: new Map(), applyDirs: [], helm: [], setImage: [] };
  for (const cmd of seedCommands(text)) {
    let m: RegExpExecArray | null;
    if ((m = /^kubectl create namespace (\S+)/.exec(cmd))) plan.namespace = m[1];
    else if ((m = /^kubectl create secret generic (\S+)/.exec(cmd))) {
      const keys = new Map<string, string>();
      for (const lit of cmd.matchAll(/--from-literal=([\w.-]+)=("([^"]*)"|'([^']*)'|(\S*))/g)) keys.set(lit[1], lit[3] ?? lit[4] ?? lit[5] ?? '');
      plan.secrets.set(m[1], keys);
    } else if ((m = /^kubectl apply -f (\S+)/.exec(cmd))) plan.applyDirs.push(m[1].replace(/\/$/, ''));
    else if ((m = /^helm install (\S+) (\S+)/.exec(cmd))) plan.helm.push({ release: m[1], chart: m[2].split('/').at(-1) ?? m[2] });
    else if ((m = /^kubectl set image (\S+) ([\w-]+)=(\S+)/.exec(cmd))) plan.setImage.push({ target: m[1], container: m[2], image: m[3] });
  }
  return plan;
}

/** What `kubectl apply -f <dir>/` applies: the directory's own *.yaml/*.yml/*.json files (no -R). */
export function filesOfDir(dir: string): string[] {
  const full = path.join(ROOT, dir);
  if (!existsSync(full) || !statSync(full).isDirectory()) return [];
  return readdirSync(full)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(full, f));
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass', 'IngressClass']);

/** Problems of the objects of one step, given everything applied up to and including it. */
export function unresolved(step: Manifest[], applied: Manifest[], plan: SeedPlan): string[] {
  const problems: string[] = [];
  const objs = applied.map((m) => m.doc);
  const has = (kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
  const where = (m: Manifest) => `${m.file} ${m.doc.kind}/${m.doc.metadata.name}`;
  const secretKeys = (name: string): Set<string> | undefined => {
    const fromSeed = plan.secrets.get(name);
    if (fromSeed) return new Set(fromSeed.keys());
    const obj = has('Secret', name);
    return obj ? new Set(Object.keys({ ...obj.data, ...obj.stringData })) : undefined;
  };
  const configMapKeys = (name: string): Set<string> | undefined => {
    const obj = has('ConfigMap', name);
    return obj ? new Set(Object.keys(obj.data ?? {})) : undefined;
  };
  const podTemplates = workloads(applied);

  for (const m of step) {
    const o = m.doc;
    const at = where(m);
    for (const e of validateObject(o)) problems.push(`${at}: ${e}`);
    if (!CLUSTER_SCOPED.has(o.kind) && o.metadata.namespace !== undefined && o.metadata.namespace !== plan.namespace)
      problems.push(`${at}: namespace ${o.metadata.namespace}, but the README creates ${plan.namespace}`);

    const w = workloads([m])[0];
    if (w) problems.push(...podProblems(at, w.template, { has, secretKeys, configMapKeys }));

    if (o.kind === 'Service') {
      const spec = o.spec as { selector?: Record<string, string>; ports: { name?: string; targetPort?: string | number; port: number }[] };
      const targets = podTemplates.filter((p) => spec.selector && selects({ matchLabels: spec.selector }, p.template.metadata?.labels));
      if (targets.length === 0) problems.push(`${at}: selector ${JSON.stringify(spec.selector)} matches no pod template applied so far`);
      for (const p of spec.ports) {
        const target = p.targetPort ?? p.port;
        for (const t of targets) {
          const ports = t.template.spec.containers.flatMap((c) => c.ports ?? []);
          if (!ports.some((cp) => cp.name === target || cp.containerPort === target))
            problems.push(`${at}: port ${p.name ?? p.port} targets ${target}, which ${t.manifest.doc.metadata.name}'s containers do not expose`);
        }
      }
    }
    if (o.kind === 'HorizontalPodAutoscaler') {
      const ref = (o.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      if (!has(ref.kind, ref.name)) problems.push(`${at}: scales ${ref.kind}/${ref.name}, which is not applied`);
    }
    if (o.kind === 'Ingress') {
      const spec = o.spec as { rules?: { http?: { paths: { backend: { service?: { name: string; port: { name?: string; number?: number } } } }[] } }[] };
      for (const p of (spec.rules ?? []).flatMap((r) => r.http?.paths ?? [])) {
        const b = p.backend.service;
        if (!b) continue;
        const svc = has('Service', b.name);
        const ports = (svc?.spec as { ports?: { name?: string; port: number }[] } | undefined)?.ports ?? [];
        if (!svc) problems.push(`${at}: backend Service ${b.name} is not applied`);
        else if (!ports.some((sp) => (b.port.name !== undefined && sp.name === b.port.name) || sp.port === b.port.number))
          problems.push(`${at}: Service ${b.name} has no port ${b.port.name ?? b.port.number}`);
      }
    }
    if (o.kind === 'NetworkPolicy' || o.kind === 'PodDisruptionBudget') {
      const spec = o.spec as { podSelector?: LabelSelector; selector?: LabelSelector };
      const selector = spec.podSelector ?? spec.selector ?? {};
      if (!podTemplates.some((p) => selects(selector, p.template.metadata?.labels))) problems.push(`${at}: selects no pod template applied so far`);
    }
    if (o.kind === 'RoleBinding') {
      const b = o as unknown as { roleRef: { kind: string; name: string }; subjects?: { kind: string; name: string }[] };
      if (!has(b.roleRef.kind, b.roleRef.name)) problems.push(`${at}: roleRef ${b.roleRef.kind}/${b.roleRef.name} is not applied`);
      for (const s of b.subjects ?? []) if (s.kind === 'ServiceAccount' && !has('ServiceAccount', s.name)) problems.push(`${at}: subject ${s.name} is not applied`);
    }
  }
  return problems;
}

interface Lookup {
  has: (kind: string, name: string) => K8sObject | undefined;
  secretKeys: (name: string) => Set<string> | undefined;
  configMapKeys: (name: string) => Set<string> | undefined;
}

function podProblems(at: string, t: PodTemplate, { has, secretKeys, configMapKeys }: Lookup): string[] {
  const problems: string[] = [];
  const sa = t.spec.serviceAccountName;
  if (sa && sa !== 'default' && !has('ServiceAccount', sa)) problems.push(`${at}: ServiceAccount ${sa} is not applied (pods would fail with FailedCreate)`);
  const volumes =
    (t.spec as { volumes?: { name: string; secret?: { secretName: string; optional?: boolean }; configMap?: { name: string; optional?: boolean; items?: { key: string }[] }; persistentVolumeClaim?: { claimName: string } }[] })
      .volumes ?? [];
  for (const v of volumes) {
    if (v.secret && !v.secret.optional && !secretKeys(v.secret.secretName)) problems.push(`${at}: volume ${v.name} needs Secret ${v.secret.secretName}`);
    if (v.configMap && !v.configMap.optional) {
      const keys = configMapKeys(v.configMap.name);
      if (!keys) problems.push(`${at}: volume ${v.name} needs ConfigMap ${v.configMap.name}`);
      for (const i of v.configMap.items ?? []) if (keys && !keys.has(i.key)) problems.push(`${at}: volume ${v.name} needs key ${i.key} of ConfigMap ${v.configMap.name}`);
    }
    if (v.persistentVolumeClaim && !has('PersistentVolumeClaim', v.persistentVolumeClaim.claimName))
      problems.push(`${at}: volume ${v.name} needs PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}`);
  }
  for (const c of allContainers(t)) {
    const cat = `${at} container ${c.name}`;
    for (const e of c.envFrom ?? []) {
      const ref = e.configMapRef ?? e.secretRef;
      if (!ref || (ref as { optional?: boolean }).optional) continue;
      if (e.configMapRef && !configMapKeys(ref.name)) problems.push(`${cat}: envFrom ConfigMap ${ref.name} is not applied`);
      if (e.secretRef && !secretKeys(ref.name)) problems.push(`${cat}: envFrom Secret ${ref.name} is not created`);
    }
    for (const e of c.env ?? []) {
      const sk = e.valueFrom?.secretKeyRef;
      if (sk && !sk.optional) {
        const keys = secretKeys(sk.name);
        if (!keys) problems.push(`${cat}: ${e.name} needs Secret ${sk.name}, which the README does not create`);
        else if (!keys.has(sk.key)) problems.push(`${cat}: ${e.name} needs key ${sk.key} of Secret ${sk.name}; the README creates ${[...keys].join(', ')}`);
      }
      const cm = e.valueFrom?.configMapKeyRef as { name: string; key: string; optional?: boolean } | undefined;
      if (cm && !cm.optional) {
        const keys = configMapKeys(cm.name);
        if (!keys) problems.push(`${cat}: ${e.name} needs ConfigMap ${cm.name}, which is not applied`);
        else if (!keys.has(cm.key)) problems.push(`${cat}: ${e.name} needs key ${cm.key} of ConfigMap ${cm.name}`);
      }
    }
    for (const [kind, probe] of [
      ['liveness', c.livenessProbe],
      ['readiness', c.readinessProbe],
      ['startup', c.startupProbe],
    ] as const) {
      const port = probe?.httpGet?.port;
      if (port === undefined) continue;
      const ok = typeof port === 'number' ? true : (c.ports ?? []).some((p) => p.name === port);
      if (!ok) problems.push(`${cat}: ${kind} probe port ${port} is not a named port of the container`);
    }
  }
  return problems;
}

/** Containers that run our CLI (the image the README's `set image` moves); third-party ones are others. */
export const runsChat4all = (c: Container) => cliArgs(c.command, c.args) !== undefined;
const repository = (image = '') => image.replace(/(@sha256:[0-9a-f]+|:[\w.-]+)$/, '');

const seedText = existsSync(SEED_README) ? read(SEED_README) : undefined;

describe.runIf(seedText !== undefined || process.env.CI === 'true')('the seed deployment README, followed to the letter', () => {
  const text = seedText ?? '';
  const plan = seedPlan(text);

  it('reads the README: namespace, Secret keys, directories in order, Helm releases, set image', () => {
    expect(seedText, `${SEED_README} is missing`).toBeDefined();
    expect(plan.namespace).toBe('chat4all');
    expect([...(plan.secrets.get('chat4all-secrets')?.keys() ?? [])]).toEqual(expect.arrayContaining(['database-url', 'jwt-secret-key']));
    expect(plan.applyDirs.length).toBeGreaterThanOrEqual(5);
    expect(plan.applyDirs[0]).toBe('k8s/configmaps');
    expect(plan.helm.map((h) => h.chart)).toEqual(expect.arrayContaining(['postgresql-ha', 'redis', 'kafka', 'minio']));
    expect(plan.setImage.length).toBeGreaterThan(0);
  });

  it('every directory it applies exists and holds manifests', () => {
    for (const dir of plan.applyDirs) expect(filesOfDir(dir).length, `${dir}/ has no manifest`).toBeGreaterThan(0);
  });

  it('each `kubectl apply -f` finds everything it refers to in what was created before or with it', () => {
    const applied: Manifest[] = [];
    const problems: string[] = [];
    for (const dir of plan.applyDirs) {
      const step = filesOfDir(dir).flatMap((f) => yamlDocs(f).map((doc) => ({ file: rel(f), doc: doc as K8sObject })));
      applied.push(...step);
      problems.push(...unresolved(step, applied, plan));
    }
    expect(problems).toEqual([]);
  });

  it("its `kubectl set image` names our image repository, and one container name per workload moves every Chat4All container", () => {
    const applied = plan.applyDirs.flatMap((dir) => filesOfDir(dir).flatMap((f) => yamlDocs(f).map((doc) => ({ file: rel(f), doc: doc as K8sObject }))));
    const ours = workloads(applied).flatMap((w) => allContainers(w.template).filter(runsChat4all).map((c) => ({ w, c })));
    expect(ours.length).toBeGreaterThan(3);
    const repos = new Set(ours.map(({ c }) => repository(c.image)));
    for (const s of plan.setImage) {
      expect([...repos], 'every Chat4All container uses the image the README rolls out').toEqual([repository(s.image)]);
      const [kind, name] = s.target.split('/');
      const target = workloads(applied).find((w) => w.manifest.doc.kind.toLowerCase() === kind && w.manifest.doc.metadata.name === name);
      expect(target, s.target).toBeDefined();
      expect(
        allContainers(target?.template as PodTemplate).map((c) => c.name),
        `${s.target} has a container ${s.container}`,
      ).toContain(s.container);
    }
  });

  it('the test itself catches a missing ServiceAccount, Secret key, ConfigMap key and Service selector', () => {
    const deployment = {
      file: 'x.yaml',
      doc: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x', namespace: 'chat4all' },
        spec: {
          selector: { matchLabels: { app: 'x' } },
          template: {
            metadata: { labels: { app: 'x' } },
            spec: {
              serviceAccountName: 'nobody',
              containers: [
                {
                  name: 'x',
                  image: 'chat4all/api:1',
                  ports: [{ name: 'http', containerPort: 8000 }],
                  readinessProbe: { httpGet: { path: '/ready', port: 'web' } },
                  env: [
                    { name: 'A', valueFrom: { secretKeyRef: { name: 'chat4all-secrets', key: 'no-such-key' } } },
                    { name: 'B', valueFrom: { configMapKeyRef: { name: 'no-such-config', key: 'B' } } },
                  ],
                },
              ],
            },
          },
        },
      } as unknown as K8sObject,
    };
    const service = {
      file: 'y.yaml',
      doc: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'y', namespace: 'chat4all' },
        spec: { selector: { app: 'y' }, ports: [{ port: 80, targetPort: 'http' }] },
      } as unknown as K8sObject,
    };
    const problems = unresolved([deployment, service], [deployment, service], plan).join('\n');
    expect(problems).toMatch(/ServiceAccount nobody/);
    expect(problems).toMatch(/no-such-key/);
    expect(problems).toMatch(/ConfigMap no-such-config/);
    expect(problems).toMatch(/probe port web/);
    expect(problems).toMatch(/Service\/y: selector/);
  });

  it('where the README itself is wrong, k8s/README.md says so up front and gives the working step', () => {
    const ours = read('k8s/README.md');
    const upFront = ours.slice(0, ours.indexOf('\n## ', ours.indexOf('\n## ') + 1));
    // The seed's JWT secret is shorter than the 16 characters src/config.ts requires.
    const jwt = plan.secrets.get('chat4all-secrets')?.get('jwt-secret-key') ?? '';
    expect(jwt.length).toBeLessThan(16);
    expect(upFront).toContain('openssl rand -base64 48');
    // Its database host does not exist for `helm install <release> bitnami/postgresql-ha`: the pgpool Service does.
    const pg = plan.helm.find((h) => h.chart === 'postgresql-ha');
    const host = /@([^:/]+)[:/]/.exec(plan.secrets.get('chat4all-secrets')?.get('database-url') ?? '')?.[1];
    expect(host).not.toBe(`${pg?.release}-postgresql-ha-pgpool`);
    expect(upFront).toContain(`${pg?.release}-postgresql-ha-pgpool`);
    // psql is not in the image; the working check is `chat4all doctor`.
    expect(text).toMatch(/-- psql/);
    expect(upFront).toMatch(/chat4all doctor/);
    // Its tree calls the Service a LoadBalancer and the API FastAPI.
    expect(upFront).toMatch(/ClusterIP/);
    expect(upFront).toMatch(/Fastify/);
  });
});
