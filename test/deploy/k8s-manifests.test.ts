/**
 * k8s/: every object is valid for Kubernetes 1.28 (offline, strict schema), the kustomization
 * covers exactly the right files, and every reference between objects resolves.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateObject } from './k8s-schema.ts';
import {
  CONFIGMAP_FILE,
  K8S_DIR,
  KUSTOMIZATION,
  SECRET_TEMPLATE,
  type LabelSelector,
  type Manifest,
  allContainers,
  find,
  k8sFiles,
  manifests,
  rel,
  selects,
  workloads,
  yamlDocs,
} from './support.ts';

const all = manifests();
const shipped = all.filter((m) => m.file !== rel(SECRET_TEMPLATE));
const NAMESPACE = 'chat4all';
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass', 'IngressClass']);

describe('Kubernetes manifests', () => {
  it('ship the layout of the deployment README', () => {
    for (const f of [
      'cronjobs/upload-gc.yaml',
      'deployments/api-deployment.yaml',
      'deployments/worker-deployment.yaml',
      'services/api-service.yaml',
      'configmaps/app-config.yaml',
      'secrets/app-secrets.yaml',
      'ingress/api-ingress.yaml',
      'hpa/api-hpa.yaml',
      'hpa/worker-hpa.yaml',
      'namespace.yaml',
      'kustomization.yaml',
    ]) {
      expect(existsSync(path.join(K8S_DIR, f)), `k8s/${f}`).toBe(true);
    }
  });

  it('parse, and every document is a named Kubernetes object', () => {
    expect(all.length).toBeGreaterThan(10);
    for (const { file, doc } of all) {
      expect(typeof doc.apiVersion, `${file}: apiVersion`).toBe('string');
      expect(typeof doc.kind, `${file}: kind`).toBe('string');
      expect(doc.metadata?.name, `${file}: metadata.name`).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
  });

  it.each(all.map((m) => [`${m.file} ${m.doc.kind}/${m.doc.metadata.name}`, m] as const))(
    'validates against the Kubernetes 1.28 API schema (strict): %s',
    (_name, m: Manifest) => {
      expect(validateObject(m.doc)).toEqual([]);
    },
  );

  it('the validator itself rejects broken objects (unknown field, wrong type, removed API)', () => {
    const good = find(all, 'Deployment', 'api');
    expect(validateObject(good)).toEqual([]);
    const clone = () => JSON.parse(JSON.stringify(good)) as typeof good;
    const typo = clone();
    (typo.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0].livenesProbe = {};
    expect(validateObject(typo).join()).toMatch(/additional properties.*livenesProbe/);
    const wrongType = clone();
    (wrongType.spec as { template: { spec: { containers: { ports: Record<string, unknown>[] }[] } } }).template.spec.containers[0].ports[0].containerPort =
      '8000';
    expect(validateObject(wrongType).join()).toMatch(/containerPort must be integer/);
    const hpa = JSON.parse(JSON.stringify(find(all, 'HorizontalPodAutoscaler', 'api-hpa'))) as ReturnType<typeof find>;
    hpa.apiVersion = 'autoscaling/v2beta2';
    expect(validateObject(hpa).join()).toMatch(/not served by Kubernetes 1.28/);
  });

  it('are unique by kind and name, and namespaced objects live in the chat4all namespace', () => {
    const seen = new Set<string>();
    for (const { file, doc } of all) {
      const key = `${doc.kind}/${doc.metadata.name}`;
      expect(seen.has(key), `${file}: duplicate ${key}`).toBe(false);
      seen.add(key);
      if (CLUSTER_SCOPED.has(doc.kind)) expect(doc.metadata.namespace, `${file}: ${key} is cluster-scoped`).toBeUndefined();
      else expect(doc.metadata.namespace, `${file}: ${key} namespace`).toBe(NAMESPACE);
    }
    expect(find(all, 'Namespace', NAMESPACE)).toBeTruthy();
  });
});

describe('kustomization.yaml', () => {
  const [kustomization] = yamlDocs(KUSTOMIZATION) as { apiVersion: string; kind: string; namespace?: string; resources: string[] }[];

  it('is a Kustomization for the chat4all namespace', () => {
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.namespace).toBe(NAMESPACE);
  });

  it('lists every manifest file except the secret template, and only existing files', () => {
    const listed = kustomization.resources.map((r) => path.join(K8S_DIR, r));
    for (const f of listed) expect(existsSync(f), `kustomization lists missing ${rel(f)}`).toBe(true);
    expect(new Set(listed).size, 'a file is listed twice').toBe(listed.length);
    const expected = k8sFiles().filter((f) => f !== KUSTOMIZATION && f !== SECRET_TEMPLATE);
    expect([...listed].sort()).toEqual([...expected].sort());
  });

  it('does not apply the secret template (it holds placeholders)', () => {
    expect(kustomization.resources.map((r) => path.normalize(r))).not.toContain(path.normalize(path.relative(K8S_DIR, SECRET_TEMPLATE)));
    expect(
      shipped.some((m) => m.doc.kind === 'Secret'),
      'no Secret object may be applied by kustomize',
    ).toBe(false);
  });
});

describe('references between objects resolve', () => {
  const ofKind = (kind: string) => shipped.filter((m) => m.doc.kind === kind).map((m) => m.doc);
  const podLabelSets = workloads(shipped).map((w) => ({
    owner: `${w.manifest.doc.kind}/${w.manifest.doc.metadata.name}`,
    labels: w.template.metadata?.labels ?? {},
  }));

  it('workload selectors select their own pod template', () => {
    for (const w of workloads(shipped)) {
      const selector = (w.manifest.doc.spec as { selector?: LabelSelector }).selector;
      if (w.manifest.doc.kind === 'CronJob' || w.manifest.doc.kind === 'Job') continue;
      expect(selector, `${w.manifest.file}: selector`).toBeDefined();
      expect(selects(selector as LabelSelector, w.template.metadata?.labels), `${w.manifest.file}: selector does not match template labels`).toBe(true);
    }
  });

  it('Services select pods and target a named container port', () => {
    for (const svc of ofKind('Service')) {
      const spec = svc.spec as { selector: Record<string, string>; ports: { targetPort: string | number }[] };
      const targets = workloads(shipped).filter((w) => selects({ matchLabels: spec.selector }, w.template.metadata?.labels));
      expect(targets.length, `Service/${svc.metadata.name} selects no pods`).toBeGreaterThan(0);
      for (const p of spec.ports) {
        for (const t of targets) {
          const ports = t.template.spec.containers.flatMap((c) => c.ports ?? []);
          expect(
            ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort),
            `Service/${svc.metadata.name} targetPort ${p.targetPort}`,
          ).toBe(true);
        }
      }
    }
  });

  it('the Ingress routes to an existing Service port, with TLS from cert-manager', () => {
    for (const ing of ofKind('Ingress')) {
      const spec = ing.spec as {
        tls?: { hosts: string[]; secretName: string }[];
        rules: { host: string; http: { paths: { backend: { service: { name: string; port: { name?: string; number?: number } } } }[] } }[];
      };
      expect(
        ing.metadata.annotations?.['cert-manager.io/cluster-issuer'] ?? ing.metadata.annotations?.['cert-manager.io/issuer'],
        'cert-manager issuer annotation',
      ).toBeTruthy();
      expect(spec.tls?.length, 'tls section').toBeGreaterThan(0);
      for (const rule of spec.rules) {
        expect(
          spec.tls?.some((t) => t.hosts.includes(rule.host)),
          `host ${rule.host} has TLS`,
        ).toBe(true);
        for (const p of rule.http.paths) {
          const svc = find(shipped, 'Service', p.backend.service.name);
          const ports = (svc.spec as { ports: { name?: string; port: number }[] }).ports;
          expect(ports.some((sp) => sp.name === p.backend.service.port.name || sp.port === p.backend.service.port.number)).toBe(true);
        }
      }
    }
  });

  it('HPAs scale existing Deployments', () => {
    for (const hpa of ofKind('HorizontalPodAutoscaler')) {
      const ref = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      expect(() => find(shipped, ref.kind, ref.name), `HPA/${hpa.metadata.name}`).not.toThrow();
    }
  });

  it('PodDisruptionBudgets and NetworkPolicies select Chat4All pods', () => {
    for (const obj of [...ofKind('PodDisruptionBudget'), ...ofKind('NetworkPolicy')]) {
      const selector =
        (obj.spec as { selector?: LabelSelector; podSelector?: LabelSelector }).selector ?? (obj.spec as { podSelector: LabelSelector }).podSelector;
      expect(
        podLabelSets.some((p) => selects(selector, p.labels)),
        `${obj.kind}/${obj.metadata.name} selects no pod`,
      ).toBe(true);
    }
    for (const w of workloads(shipped)) {
      const labels = w.template.metadata?.labels;
      const covered = ofKind('NetworkPolicy').some((np) => selects((np.spec as { podSelector: LabelSelector }).podSelector, labels));
      expect(covered, `${w.manifest.file}: no NetworkPolicy covers these pods`).toBe(true);
    }
  });

  it('NetworkPolicies: API and workers reach PostgreSQL, Redis, Kafka, MinIO; the GC job only PostgreSQL and MinIO', () => {
    const egressPorts = (name: string) =>
      new Set(
        ((find(shipped, 'NetworkPolicy', name).spec as { egress: { ports?: { port: number }[] }[] }).egress ?? []).flatMap((e) =>
          (e.ports ?? []).map((p) => p.port),
        ),
      );
    for (const name of ['api', 'worker'])
      for (const port of [53, 5432, 6379, 9092, 9000]) expect(egressPorts(name).has(port), `${name} egress ${port}`).toBe(true);
    const gc = egressPorts('upload-gc');
    for (const port of [53, 5432, 9000]) expect(gc.has(port), `upload-gc egress ${port}`).toBe(true);
    for (const port of [6379, 9092]) expect(gc.has(port), `upload-gc must not reach ${port}`).toBe(false);
    for (const np of ofKind('NetworkPolicy')) expect((np.spec as { policyTypes: string[] }).policyTypes.sort()).toEqual(['Egress', 'Ingress']);
  });

  it('service accounts exist, and the worker Role is bound and minimal', () => {
    for (const w of workloads(shipped)) {
      const sa = w.template.spec.serviceAccountName;
      if (sa) expect(() => find(shipped, 'ServiceAccount', sa), `${w.manifest.file}: ServiceAccount ${sa}`).not.toThrow();
    }
    expect(workload('Deployment', 'worker').spec.serviceAccountName).toBe('chat4all-worker');
    const binding = find(shipped, 'RoleBinding', 'chat4all-worker') as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string }[];
    };
    expect(() => find(shipped, binding.roleRef.kind, binding.roleRef.name)).not.toThrow();
    for (const s of binding.subjects) expect(() => find(shipped, s.kind, s.name)).not.toThrow();
    const role = find(shipped, 'Role', binding.roleRef.name) as unknown as { rules: { resources: string[]; verbs: string[]; resourceNames?: string[] }[] };
    const granted = role.rules.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${res}`)));
    for (const g of granted) expect(['get configmaps', 'watch configmaps', 'get secrets', 'create events', 'patch events'], `Role grants "${g}"`).toContain(g);
    for (const r of role.rules.filter((x) => x.resources.includes('secrets') || x.resources.includes('configmaps'))) {
      expect(r.resourceNames?.length, 'config and secret access is limited to named objects').toBeGreaterThan(0);
    }
  });

  it('ConfigMaps and Secrets that pods reference are shipped (the Secret as the template)', () => {
    const configMaps = new Set(all.filter((m) => m.doc.kind === 'ConfigMap').map((m) => m.doc.metadata.name));
    const secrets = new Set(all.filter((m) => m.doc.kind === 'Secret').map((m) => m.doc.metadata.name));
    // The application's ConfigMap, and the backup CronJob's script beside it (cronjobs/ ships what it needs).
    expect(all.filter((m) => m.doc.kind === 'ConfigMap').map((m) => m.file)).toEqual([rel(CONFIGMAP_FILE), 'k8s/cronjobs/postgres-backup.yaml']);
    for (const w of workloads(shipped)) {
      for (const c of allContainers(w.template)) {
        for (const e of c.envFrom ?? []) {
          if (e.configMapRef) expect(configMaps.has(e.configMapRef.name), `${w.manifest.file}: ConfigMap ${e.configMapRef.name}`).toBe(true);
          if (e.secretRef) expect(secrets.has(e.secretRef.name), `${w.manifest.file}: Secret ${e.secretRef.name}`).toBe(true);
        }
        for (const e of c.env ?? []) {
          const cm = e.valueFrom?.configMapKeyRef;
          const sk = e.valueFrom?.secretKeyRef;
          if (cm) expect(configMaps.has(cm.name), `${w.manifest.file}: ConfigMap ${cm.name}`).toBe(true);
          if (sk) expect(secrets.has(sk.name), `${w.manifest.file}: Secret ${sk.name}`).toBe(true);
        }
      }
    }
  });
});

function workload(kind: string, name: string) {
  const hit = workloads(shipped).find((w) => w.manifest.doc.kind === kind && w.manifest.doc.metadata.name === name);
  if (!hit) throw new Error(`no ${kind}/${name}`);
  return hit.template;
}
