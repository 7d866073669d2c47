/**
 * What k8s/ ships beside the applied manifests: the Helm values of the deployment README's four
 * charts (cross-checked against the ConfigMap and the Secret), the Traefik Ingress, the quota, the
 * chaos experiments, the log-shipping config, and the image build and rollout commands.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateObject } from './k8s-schema.ts';
import { SEED_README, seedPlan, unresolved } from './seed.ts';
import {
  CONFIGMAP_FILE,
  IMAGE_REPOSITORY,
  type K8sObject,
  type LabelSelector,
  ROOT,
  SECRET_TEMPLATE,
  allContainers,
  chat4allWorkloads,
  find,
  manifests,
  quantity,
  read,
  selects,
  workloads,
  yamlDocs,
} from './support.ts';

const all = manifests();
const [configMap] = yamlDocs(CONFIGMAP_FILE) as { data: Record<string, string> }[];
const cfg = configMap.data;
const [secret] = yamlDocs(SECRET_TEMPLATE) as { stringData: Record<string, string> }[];
type Values = Record<string, any>;
const values = (chart: string) => yamlDocs(path.join(ROOT, 'k8s/helm-values', `${chart}.yaml`))[0] as Values;

/** Release names: those of the deployment README's `helm install` lines (the defaults when it is absent). */
const releases: Record<string, string> = { 'postgresql-ha': 'postgres', redis: 'redis', kafka: 'kafka', minio: 'minio' };
if (existsSync(SEED_README)) for (const h of seedPlan(read(SEED_README)).helm) releases[h.chart] = h.release;

const hostPort = (address: string) => {
  const [host, port] = address
    .replace(/^\w+:\/\//, '')
    .split('/')[0]
    .split(':');
  return { host, port: Number(port) };
};
const hpaMax = (name: string) => (find(all, 'HorizontalPodAutoscaler', name).spec as { maxReplicas: number }).maxReplicas;

describe('Helm values for the deployment README charts', () => {
  it('there is one values file per chart the README installs', () => {
    for (const chart of Object.keys(releases)) expect(existsSync(path.join(ROOT, 'k8s/helm-values', `${chart}.yaml`)), chart).toBe(true);
  });

  it('postgresql-ha: database-url points at the Pgpool Service with the chart’s user, database and port', () => {
    const v = values('postgresql-ha');
    const url = new URL(secret.stringData['database-url']);
    expect(url.hostname).toBe(`${releases['postgresql-ha']}-postgresql-ha-pgpool`);
    expect(Number(url.port)).toBe(v.service.ports.postgresql);
    expect(url.username).toBe(v.postgresql.username);
    expect(url.pathname).toBe(`/${v.postgresql.database}`);
    expect(read('k8s/README.md')).toContain(`@${url.hostname}:${url.port}/${v.postgresql.database}`);
  });

  it('postgresql-ha: Pgpool admits every Chat4All connection at the HPA maxima, and PostgreSQL every Pgpool connection', () => {
    const v = values('postgresql-ha');
    const pods = hpaMax('api-hpa') + hpaMax('worker-hpa') + 2; // + the two CronJobs
    const needed = pods * Number(cfg.DATABASE_POOL_SIZE);
    const admitted = v.pgpool.replicaCount * v.pgpool.numInitChildren;
    expect(admitted, `${pods} pods x DATABASE_POOL_SIZE`).toBeGreaterThanOrEqual(needed);
    expect(v.postgresql.maxConnections).toBeGreaterThan(admitted * v.pgpool.maxPool);
  });

  it('kafka: the client listener, its SASL mechanism and user, and the broker count match the ConfigMap', () => {
    const v = values('kafka');
    const brokers = cfg.KAFKA_BROKERS.split(',').map(hostPort);
    for (const b of brokers) expect(b).toEqual({ host: releases.kafka, port: v.service.ports.client });
    expect(v.listeners.client.containerPort).toBe(v.service.ports.client);
    const protocol: string = v.listeners.client.protocol;
    expect(protocol.startsWith('SASL_'), 'a SASL listener needs KAFKA_SASL_MECHANISM and vice versa').toBe(Boolean(cfg.KAFKA_SASL_MECHANISM));
    expect(protocol.endsWith('SSL'), 'a TLS listener needs KAFKA_TLS=true and vice versa').toBe(cfg.KAFKA_TLS === 'true');
    expect(['scram-sha-256', 'scram-sha-512', 'plain']).toContain(cfg.KAFKA_SASL_MECHANISM);
    expect(String(v.sasl.enabledMechanisms).split(',')).toContain(cfg.KAFKA_SASL_MECHANISM.toUpperCase());
    expect(v.sasl.client.users).toContain(cfg.KAFKA_SASL_USERNAME);
    expect(Object.keys(secret.stringData)).toContain('kafka-password');
    expect(v.controller.replicaCount + (v.broker?.replicaCount ?? 0)).toBeGreaterThanOrEqual(Number(cfg.KAFKA_REPLICATION_FACTOR));
    expect(v.extraConfig).toMatch(/min\.insync\.replicas=2/);
  });

  it('redis: auth from the Secret’s redis-password; the ConfigMap lists every Sentinel of the chart and its master set', () => {
    const v = values('redis');
    expect(v.auth).toMatchObject({ enabled: true, existingSecret: 'chat4all-secrets', existingSecretPasswordKey: 'redis-password' });
    expect(Object.keys(secret.stringData)).toContain('redis-password');
    expect(v.sentinel.enabled).toBe(true);
    expect(cfg.REDIS_SENTINEL_MASTER).toBe(v.sentinel.masterSet);
    const r = releases.redis;
    const expected = Array.from({ length: v.replica.replicaCount }, (_x, i) => ({
      host: `${r}-node-${i}.${r}-headless`,
      port: v.sentinel.service.ports.sentinel,
    }));
    expect(cfg.REDIS_SENTINELS.split(',').map(hostPort)).toEqual(expected);
  });

  it('minio: the Service and port of S3_ENDPOINT, and the buckets of the app and the backup CronJob are created', () => {
    const v = values('minio');
    expect(hostPort(cfg.S3_ENDPOINT)).toEqual({ host: releases.minio, port: v.service.ports.api });
    const buckets = (v.provisioning.buckets as { name: string }[]).map((b) => b.name);
    expect(v.provisioning.enabled).toBe(true);
    expect(buckets).toContain(cfg.S3_BUCKET);
    expect(buckets).toContain(find(all, 'ConfigMap', 'postgres-backup').data?.BACKUP_S3_BUCKET);
    expect(cfg.S3_CREATE_BUCKET, 'the chart creates the bucket; the app needs no CreateBucket right').toBe('false');
  });

  it('the network policies let Chat4All reach every port the values expose', () => {
    const ports = (name: string) =>
      new Set(
        ((find(all, 'NetworkPolicy', name).spec as { egress: { ports?: { port: number }[] }[] }).egress ?? []).flatMap((e) =>
          (e.ports ?? []).map((p) => p.port),
        ),
      );
    const needed = [
      values('postgresql-ha').service.ports.postgresql,
      values('kafka').service.ports.client,
      6379,
      values('redis').sentinel.service.ports.sentinel,
      values('minio').service.ports.api,
    ];
    for (const n of ['api', 'worker']) for (const p of needed) expect(ports(n).has(p), `${n} egress ${p}`).toBe(true);
  });
});

describe('Ingress variants and TLS', () => {
  const traefik = yamlDocs(path.join(ROOT, 'k8s/ingress-traefik/api-ingress.yaml'))[0] as K8sObject;
  const nginx = find(all, 'Ingress', 'api');

  it('the Traefik Ingress is valid and routes the same host, TLS Secret and backend as the nginx one', () => {
    expect(validateObject(traefik)).toEqual([]);
    expect((traefik.spec as { ingressClassName: string }).ingressClassName).toBe('traefik');
    const { ingressClassName: _a, ...rest } = traefik.spec as Record<string, unknown>;
    const { ingressClassName: _b, ...restNginx } = nginx.spec as Record<string, unknown>;
    expect(rest).toEqual(restNginx);
    expect(Object.keys(traefik.metadata.annotations ?? {}).some((k) => k.startsWith('nginx.'))).toBe(false);
  });

  it("the API's NetworkPolicy admits both controllers' namespaces on the HTTP port", () => {
    const np = find(all, 'NetworkPolicy', 'api').spec as { ingress: { from: { namespaceSelector?: LabelSelector }[]; ports: { port: number }[] }[] };
    const http = np.ingress.filter((r) => r.ports.some((p) => p.port === 8000));
    for (const ns of ['ingress-nginx', 'traefik'])
      expect(
        http.some((r) => r.from.some((f) => f.namespaceSelector && selects(f.namespaceSelector, { 'kubernetes.io/metadata.name': ns }))),
        ns,
      ).toBe(true);
  });

  it('k8s/README.md gives the no-cert-manager path: a TLS Secret of the name the Ingress uses', () => {
    const tls = (nginx.spec as { tls: { secretName: string }[] }).tls[0].secretName;
    expect(read('k8s/README.md')).toMatch(new RegExp(`kubectl create secret tls ${tls}\\b`));
  });
});

describe('namespace quota', () => {
  const quota = find(all, 'ResourceQuota', 'chat4all').spec as { hard: Record<string, string> };
  const limitRange = find(all, 'LimitRange', 'chat4all').spec as { limits: { type: string; max?: Record<string, string> }[] };

  it('fits Chat4All at its HPA maxima during a rollout, with at least a third left for the infrastructure', () => {
    const sum = { 'requests.cpu': 0, 'requests.memory': 0, 'limits.cpu': 0, 'limits.memory': 0, pods: 0 };
    const add = (pods: number, t: (typeof workloads extends (...a: never[]) => (infer W)[] ? W : never)['template']) => {
      // Init containers run before the others, so a pod counts the larger of the two.
      for (const [kind, res] of [
        ['requests', 'cpu'],
        ['requests', 'memory'],
        ['limits', 'cpu'],
        ['limits', 'memory'],
      ] as const) {
        const get = (c: { resources?: Record<string, Record<string, string> | undefined> }) => quantity(c.resources?.[kind]?.[res] ?? '0');
        const main = t.spec.containers.reduce((a, c) => a + get(c as never), 0);
        const init = Math.max(0, ...(t.spec.initContainers ?? []).map((c) => get(c as never)));
        sum[`${kind}.${res}`] += pods * Math.max(main, init);
      }
      sum.pods += pods;
    };
    for (const w of workloads(all)) {
      const name = w.manifest.doc.metadata.name;
      const pods = w.manifest.doc.kind === 'CronJob' ? 1 : hpaMax(`${name}-hpa`) + Math.ceil(hpaMax(`${name}-hpa`) * 0.25);
      add(pods, w.template);
    }
    for (const [k, used] of Object.entries(sum)) expect(used, k).toBeLessThanOrEqual((2 / 3) * quantity(quota.hard[k]));
  });

  it('the LimitRange caps no Chat4All container below its own limits', () => {
    const max = limitRange.limits.find((l) => l.type === 'Container')?.max ?? {};
    for (const w of workloads(all))
      for (const c of allContainers(w.template))
        for (const r of ['cpu', 'memory']) expect(quantity(c.resources?.limits?.[r] ?? '0'), `${c.name} ${r}`).toBeLessThanOrEqual(quantity(max[r]));
  });
});

describe('chaos experiments', () => {
  const experiments = yamlDocs(path.join(ROOT, 'k8s/extras/chaos/experiments.yaml')) as {
    kind: string;
    metadata: { name: string };
    spec: { action: string; selector: { namespaces: string[]; labelSelectors: Record<string, string> } };
  }[];
  const pods = workloads(all).map((w) => w.template.metadata?.labels ?? {});

  it('kill an API pod, a worker pod, a Kafka broker and a Redis node of the README’s releases', () => {
    expect(experiments.map((e) => `${e.kind}/${e.spec.action}`)).toEqual(Array(4).fill('PodChaos/pod-kill'));
    const [api, worker, kafka, redis] = experiments.map((e) => e.spec.selector);
    for (const s of [api, worker, kafka, redis]) expect(s.namespaces).toEqual(['chat4all']);
    expect(pods.filter((l) => selects({ matchLabels: api.labelSelectors }, l))).toEqual([{ app: 'chat4all', component: 'api' }]);
    expect(pods.filter((l) => selects({ matchLabels: worker.labelSelectors }, l))).toEqual([{ app: 'chat4all', component: 'worker' }]);
    expect(kafka.labelSelectors).toEqual({ 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': releases.kafka });
    expect(redis.labelSelectors).toEqual({ 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': releases.redis });
  });
});

describe('log shipping', () => {
  const fb = yamlDocs(path.join(ROOT, 'observability/logging/fluent-bit.yaml'))[0] as {
    pipeline: { inputs: Record<string, string>[]; filters: Record<string, string>[]; outputs: Record<string, string>[] };
  };

  it("Fluent Bit tails the chat4all namespace's containers, merges our JSON lines and sends them to Loki", () => {
    const tail = fb.pipeline.inputs.find((i) => i.name === 'tail');
    expect(tail?.path).toContain('_chat4all_');
    expect(tail?.['multiline.parser']).toBe('cri');
    const k8s = fb.pipeline.filters.find((f) => f.name === 'kubernetes');
    expect(String(k8s?.merge_log)).toMatch(/^(on|true)$/);
    const lua = fb.pipeline.filters.find((f) => f.name === 'lua');
    for (const [n, name] of [
      [30, 'info'],
      [50, 'error'],
    ] as const)
      expect(lua?.code).toContain(`[${n}] = "${name}"`);
    expect(fb.pipeline.outputs.map((o) => o.name)).toEqual(['loki']);
  });

  it('the logger still writes what the config expects: numeric pino levels as JSON lines', () => {
    const logger = read('src/logger.ts');
    expect(logger).toMatch(/pino/);
    expect(logger).not.toMatch(/formatters:\s*\{[^}]*level/);
  });
});

describe('image build and rollout', () => {
  it('`npm run image -- <tag>` builds chat4all/api:<tag>', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.image).toBe('sh scripts/image.sh');
    expect(read('scripts/image.sh')).toContain(`docker build --tag "${IMAGE_REPOSITORY}:$tag"`);
  });

  it("k8s/README.md's one `kubectl set image` moves exactly the workloads of our image, init containers included", () => {
    const readme = read('k8s/README.md').replace(/\\\n\s*/g, ' ');
    const line = readme.split('\n').find((l) => /^kubectl set image .*'\*=chat4all\/api:/.test(l.trim()));
    expect(line, 'a `kubectl set image … *=chat4all/api:<tag>` line').toBeDefined();
    const targets = [...(line ?? '').matchAll(/\b(deployment|cronjob)\/([a-z0-9-]+)/g)].map((m) => `${m[1]}/${m[2]}`).sort();
    const ours = chat4allWorkloads(all)
      .map((w) => `${w.manifest.doc.kind.toLowerCase()}/${w.manifest.doc.metadata.name}`)
      .sort();
    expect(targets).toEqual(ours);
  });
});

describe('restore Job', () => {
  const job = yamlDocs(path.join(ROOT, 'k8s/extras/restore/postgres-restore.yaml'))[0] as K8sObject;
  const script = find(all, 'ConfigMap', 'postgres-backup').data?.['backup.sh'] ?? '';

  it('is valid, and everything it refers to is shipped (ConfigMaps, Secret keys, ServiceAccount)', () => {
    const plan = {
      namespace: 'chat4all',
      secrets: new Map([['chat4all-secrets', new Map(Object.entries(secret.stringData))]]),
      applyDirs: [],
      helm: [],
      setImage: [],
    };
    expect(unresolved([{ file: 'k8s/extras/restore/postgres-restore.yaml', doc: job }], [...all, { file: 'job', doc: job }], plan)).toEqual([]);
  });

  it('runs subcommands the backup script has: download, then pg-restore', () => {
    const t = workloads([{ file: 'job', doc: job }])[0].template;
    const steps = allContainers(t).map((c) => c.command?.slice(-1)[0]);
    expect(steps).toEqual(['download', 'pg-restore']);
    for (const s of steps) expect(script).toMatch(new RegExp(`^\\s+${s}\\)$`, 'm'));
  });
});
