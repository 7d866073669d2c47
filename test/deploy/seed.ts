/**
 * Reads the seed deployment README (../shared/SEED-k8s-README.md): its command sequence, and the
 * reference check applied to each `kubectl apply -f` step. Used by seed-readme.test.ts and
 * k8s-extras.test.ts.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
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
  selects,
  workloads,
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
      for (const s of b.subjects ?? [])
        if (s.kind === 'ServiceAccount' && !has('ServiceAccount', s.name)) problems.push(`${at}: subject ${s.name} is not applied`);
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
    (
      t.spec as {
        volumes?: {
          name: string;
          secret?: { secretName: string; optional?: boolean };
          configMap?: { name: string; optional?: boolean; items?: { key: string }[] };
          persistentVolumeClaim?: { claimName: string };
        }[];
      }
    ).volumes ?? [];
  for (const v of volumes) {
    if (v.secret && !v.secret.optional && !secretKeys(v.secret.secretName)) problems.push(`${at}: volume ${v.name} needs Secret ${v.secret.secretName}`);
    if (v.configMap && !v.configMap.optional) {
      const keys = configMapKeys(v.configMap.name);
      if (!keys) problems.push(`${at}: volume ${v.name} needs ConfigMap ${v.configMap.name}`);
      for (const i of v.configMap.items ?? [])
        if (keys && !keys.has(i.key)) problems.push(`${at}: volume ${v.name} needs key ${i.key} of ConfigMap ${v.configMap.name}`);
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
