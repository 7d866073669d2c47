/**
 * k8s/: the values the deployment README promises (autoscaling, resources, probes, metrics
 * annotations, security context, the garbage-collector CronJob, the Secret's keys).
 */
import { describe, expect, it } from 'vitest';
import {
  CONFIGMAP_FILE,
  IMAGE_REPOSITORY,
  SECRET_TEMPLATE,
  type Container,
  type PodTemplate,
  allContainers,
  chat4allWorkloads,
  cliArgs,
  find,
  manifests,
  quantity,
  read,
  workload,
  workloads,
  yamlDocs,
} from './support.ts';

const all = manifests();
const APP_PORT = 8000;
/** METRICS_PORT: /metrics only, never routed by the Ingress. */
const METRICS_PORT = 9464;

interface Hpa {
  spec: {
    scaleTargetRef: { name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: { type: string; resource?: { name: string; target: { type: string; averageUtilization?: number } } }[];
    behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } };
  };
}

const hpa = (name: string) => find(all, 'HorizontalPodAutoscaler', name) as unknown as Hpa;
const cpuTarget = (h: Hpa) => h.spec.metrics.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu')?.resource?.target;

/** The container of a pod template that runs the named chat4all subcommand. */
function runs(t: PodTemplate, subcommand: string): Container {
  const c = t.spec.containers.find((x) => cliArgs(x.command, x.args)?.[0] === subcommand);
  if (!c) throw new Error(`no container runs chat4all ${subcommand}`);
  return c;
}

describe('autoscaling', () => {
  it('API: 70 % CPU, 3..10 replicas, 300 s scale-down stabilisation', () => {
    const h = hpa('api-hpa');
    expect(h.spec.scaleTargetRef.name).toBe('api');
    expect([h.spec.minReplicas, h.spec.maxReplicas]).toEqual([3, 10]);
    expect(cpuTarget(h)).toEqual({ type: 'Utilization', averageUtilization: 70 });
    expect(h.spec.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(300);
  });

  it('workers: 70 % CPU, 5..20 replicas', () => {
    const h = hpa('worker-hpa');
    expect(h.spec.scaleTargetRef.name).toBe('worker');
    expect([h.spec.minReplicas, h.spec.maxReplicas]).toEqual([5, 20]);
    expect(cpuTarget(h)).toEqual({ type: 'Utilization', averageUtilization: 70 });
  });

  it('Deployments leave the replica count to their HPA', () => {
    for (const name of ['api', 'worker']) expect((find(all, 'Deployment', name).spec as { replicas?: number }).replicas, name).toBeUndefined();
  });
});

describe('resources', () => {
  const expectResources = (c: Container, req: [string, string], lim: [string, string]) => {
    expect(quantity(c.resources?.requests?.cpu ?? 'NaN'), `${c.name} cpu request`).toBeCloseTo(quantity(req[0]));
    expect(quantity(c.resources?.requests?.memory ?? 'NaN'), `${c.name} memory request`).toBe(quantity(req[1]));
    expect(quantity(c.resources?.limits?.cpu ?? 'NaN'), `${c.name} cpu limit`).toBeCloseTo(quantity(lim[0]));
    expect(quantity(c.resources?.limits?.memory ?? 'NaN'), `${c.name} memory limit`).toBe(quantity(lim[1]));
  };

  it('API pods: requests 500m / 512Mi, limits 2000m / 2Gi', () => {
    expectResources(runs(workload(all, 'Deployment', 'api'), 'api'), ['500m', '512Mi'], ['2000m', '2Gi']);
  });
  it('worker pods: requests 250m / 256Mi, limits 1000m / 1Gi', () => {
    expectResources(runs(workload(all, 'Deployment', 'worker'), 'worker'), ['250m', '256Mi'], ['1000m', '1Gi']);
  });
  it('upload GC pods: requests 100m / 256Mi, limits 500m / 512Mi', () => {
    expectResources(runs(workload(all, 'CronJob', 'upload-garbage-collector'), 'gc'), ['100m', '256Mi'], ['500m', '512Mi']);
  });
  it('every container, init containers included, has requests and limits', () => {
    for (const w of workloads(all)) {
      for (const c of allContainers(w.template)) {
        for (const k of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[k], `${w.manifest.file} ${c.name} requests.${k}`).toBeDefined();
          expect(c.resources?.limits?.[k], `${w.manifest.file} ${c.name} limits.${k}`).toBeDefined();
        }
      }
    }
  });
});

describe('health checks and metrics', () => {
  const resolvePort = (c: Container, port: number | string) => (typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort);

  it('long-running containers: liveness GET /health, readiness GET /ready, on the container port 8000', () => {
    for (const w of workloads(all).filter((x) => x.manifest.doc.kind === 'Deployment')) {
      for (const c of w.template.spec.containers) {
        const where = `${w.manifest.file} ${c.name}`;
        expect(
          c.ports?.map((p) => p.containerPort),
          `${where} ports`,
        ).toEqual([APP_PORT, METRICS_PORT]);
        expect(c.livenessProbe?.httpGet?.path, `${where} liveness path`).toBe('/health');
        expect(c.readinessProbe?.httpGet?.path, `${where} readiness path`).toBe('/ready');
        for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
          if (!probe) continue;
          expect(['/health', '/ready'], `${where} probe path`).toContain(probe.httpGet?.path);
          expect(resolvePort(c, probe.httpGet?.port ?? -1), `${where} probe port`).toBe(APP_PORT);
        }
        if (c.startupProbe) expect(c.startupProbe.httpGet?.path, `${where} startup path`).toBe('/health');
      }
    }
  });

  it('every pod template of our image carries the Prometheus scrape annotations (the metrics port 9464, /metrics), naming a port of its container', () => {
    for (const w of chat4allWorkloads(all)) {
      const a = w.template.metadata?.annotations ?? {};
      expect(a['prometheus.io/scrape'], w.manifest.file).toBe('true');
      expect(a['prometheus.io/port'], w.manifest.file).toBe(String(METRICS_PORT));
      expect(a['prometheus.io/path'], w.manifest.file).toBe('/metrics');
      const ports = w.template.spec.containers.flatMap((c) => c.ports ?? []);
      expect(ports.find((p) => p.containerPort === METRICS_PORT)?.name, w.manifest.file).toBe('metrics');
    }
  });

  it('the ConfigMap serves /metrics on that port and keeps the API explorer off', () => {
    const [configMap] = yamlDocs(CONFIGMAP_FILE) as { data: Record<string, string> }[];
    expect(configMap.data.METRICS_PORT).toBe(String(METRICS_PORT));
    expect(configMap.data.DOCS_ENABLED).toBe('false');
  });

  it("the Ingress never routes to the metrics port; only Prometheus' namespace may reach it", () => {
    const ingress = find(all, 'Ingress', 'api').spec as {
      rules: { http: { paths: { backend: { service: { port: { name?: string; number?: number } } } }[] } }[];
    };
    for (const p of ingress.rules.flatMap((r) => r.http.paths)) {
      expect(p.backend.service.port.name ?? '', 'ingress backend port').not.toBe('metrics');
      expect(p.backend.service.port.number ?? 0, 'ingress backend port').not.toBe(METRICS_PORT);
    }
    for (const np of all.filter((m) => m.doc.kind === 'NetworkPolicy')) {
      const rules = (np.doc.spec as { ingress: { from: { namespaceSelector?: { matchLabels?: Record<string, string> } }[]; ports: { port: number }[] }[] })
        .ingress;
      for (const r of rules.filter((x) => x.ports.some((p) => p.port === METRICS_PORT))) {
        expect(
          r.from.map((f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']),
          np.doc.metadata.name,
        ).toEqual(['monitoring']);
      }
    }
  });
});

describe('security', () => {
  it('every pod runs as UID 1000 (non-root) with fsGroup 1000', () => {
    for (const w of workloads(all)) {
      const sc = w.template.spec.securityContext;
      expect(sc?.runAsNonRoot, w.manifest.file).toBe(true);
      expect(sc?.runAsUser, w.manifest.file).toBe(1000);
      expect(sc?.fsGroup, w.manifest.file).toBe(1000);
    }
  });

  it('no container can escalate privileges or override the user', () => {
    for (const w of workloads(all)) {
      for (const c of allContainers(w.template)) {
        const where = `${w.manifest.file} ${c.name}`;
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext?.privileged ?? false, where).toBe(false);
        if (c.securityContext?.runAsUser !== undefined) expect(c.securityContext.runAsUser, where).toBe(1000);
      }
    }
  });

  it('every Chat4All container runs the same image, chat4all/api (only the backup CronJob uses third-party ones)', () => {
    const images = new Set(chat4allWorkloads(all).flatMap((w) => allContainers(w.template).map((c) => c.image)));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(new RegExp(`^${IMAGE_REPOSITORY}:`));
    const ours = new Set(chat4allWorkloads(all).map((w) => w.manifest.doc.metadata.name));
    const others = workloads(all).filter((w) => !ours.has(w.manifest.doc.metadata.name));
    expect(others.map((w) => w.manifest.doc.metadata.name)).toEqual(['postgres-backup']);
  });
});

describe('database migrations', () => {
  it('run before the API and the workers start (init container `chat4all migrate`)', () => {
    for (const name of ['api', 'worker']) {
      const init = workload(all, 'Deployment', name).spec.initContainers ?? [];
      expect(
        init.some((c) => cliArgs(c.command, c.args)?.[0] === 'migrate'),
        `${name} has a migrate init container`,
      ).toBe(true);
    }
  });
});

describe('upload garbage collector CronJob', () => {
  const cron = find(all, 'CronJob', 'upload-garbage-collector');
  const spec = cron.spec as {
    schedule: string;
    concurrencyPolicy?: string;
    jobTemplate: { metadata?: { labels?: Record<string, string> }; spec: { template: PodTemplate } };
  };

  it('runs `chat4all gc` daily at 02:00 and never twice at once', () => {
    expect(spec.schedule).toBe('0 2 * * *');
    expect(spec.concurrencyPolicy).toBe('Forbid');
    runs(spec.jobTemplate.spec.template, 'gc');
  });

  it('labels its jobs and pods component=upload-gc', () => {
    expect(cron.metadata.labels?.component).toBe('upload-gc');
    expect(spec.jobTemplate.metadata?.labels?.component).toBe('upload-gc');
    expect(spec.jobTemplate.spec.template.metadata?.labels?.component).toBe('upload-gc');
  });

  it('sets GC_RETENTION_HOURS and GC_BATCH_SIZE (24 h, 100)', () => {
    const env = Object.fromEntries((runs(spec.jobTemplate.spec.template, 'gc').env ?? []).map((e) => [e.name, e.value]));
    expect(env.GC_RETENTION_HOURS).toBe('24');
    expect(env.GC_BATCH_SIZE).toBe('100');
  });
});

describe('Secret template', () => {
  // Channel keys are optional (secretKeyRef optional: true): a deployment without a channel starts.
  const CHANNEL_KEYS = [
    'telegram-bot-token',
    'telegram-webhook-secret',
    'meta-app-secret',
    'whatsapp-access-token',
    'whatsapp-verify-token',
    'messenger-page-access-token',
    'messenger-verify-token',
    'instagram-access-token',
    'instagram-verify-token',
  ];
  // kafka-password is optional too: the deployment README's Secret has no such key, and it is only
  // needed with KAFKA_SASL_MECHANISM (k8s/helm-values/kafka.yaml).
  const OPTIONAL_KEYS = [...CHANNEL_KEYS, 'kafka-password'];
  const KEYS = ['database-url', 'jwt-secret-key', 'minio-access-key', 'minio-secret-key', 'redis-password', ...OPTIONAL_KEYS];
  const [secret] = yamlDocs(SECRET_TEMPLATE) as {
    kind: string;
    metadata: { name: string };
    data?: Record<string, string>;
    stringData?: Record<string, string>;
  }[];

  it('is the Secret chat4all-secrets with exactly the documented keys', () => {
    expect(secret.kind).toBe('Secret');
    expect(secret.metadata.name).toBe('chat4all-secrets');
    expect(Object.keys({ ...secret.data, ...secret.stringData }).sort()).toEqual([...KEYS].sort());
  });

  it('holds placeholders only, never real values', () => {
    expect(secret.data, 'use stringData placeholders, not base64 data').toBeUndefined();
    for (const [k, v] of Object.entries(secret.stringData ?? {})) expect(v, k).toContain('CHANGE_ME');
  });

  it('documents the `kubectl create secret` command with every key', () => {
    const text = read(SECRET_TEMPLATE);
    expect(text).toMatch(/kubectl create secret generic chat4all-secrets/);
    for (const k of KEYS) expect(text).toContain(`--from-literal=${k}=`);
  });

  it('every key is used by a pod and every secretKeyRef names a key of the template', () => {
    const used = new Set<string>();
    for (const w of workloads(all)) {
      for (const c of allContainers(w.template)) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          expect(ref.name, `${w.manifest.file} ${c.name} ${e.name}`).toBe('chat4all-secrets');
          expect(KEYS, `${w.manifest.file} ${c.name} ${e.name}`).toContain(ref.key);
          used.add(ref.key);
        }
      }
    }
    expect([...used].sort()).toEqual([...KEYS].sort());
  });

  it('channel keys and kafka-password reach the API and the workers as optional references, the others as required ones', () => {
    for (const name of ['api', 'worker']) {
      const c = runs(workload(all, 'Deployment', name), name);
      const refs = new Map((c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [[e.valueFrom.secretKeyRef.key, e.valueFrom.secretKeyRef]] : [])));
      for (const k of OPTIONAL_KEYS) expect(refs.get(k)?.optional, `${name} ${k}`).toBe(true);
      for (const k of KEYS.filter((x) => !OPTIONAL_KEYS.includes(x))) expect(refs.get(k)?.optional ?? false, `${name} ${k}`).toBe(false);
    }
  });
});
