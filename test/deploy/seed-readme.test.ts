/**
 * Follows the deployment README our users start from (../shared/SEED-k8s-README.md) to the letter,
 * offline: its namespace, its Secret (the `--from-literal` keys it creates), then `kubectl apply -f`
 * of each directory in the order it gives. At every step, the objects applied so far must be
 * enough for the ones just applied: every reference (ServiceAccounts, Secrets and keys, ConfigMaps
 * and keys, PVCs, Service selectors and ports, HPA targets, probe ports, Ingress backends,
 * NetworkPolicy and PDB selectors) resolves inside that set, and the image names fit the README's
 * `kubectl set image` command. Nothing that `k8s/` leaves to optional directories may be needed.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SEED_README, filesOfDir, runsChat4all, seedCommands, seedPlan, unresolved } from './seed.ts';
import { type K8sObject, type Manifest, type PodTemplate, allContainers, read, rel, workloads, yamlDocs } from './support.ts';

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

  it('its `kubectl set image` names our image repository, and one container name per workload moves every Chat4All container', () => {
    const applied = plan.applyDirs.flatMap((dir) => filesOfDir(dir).flatMap((f) => yamlDocs(f).map((doc) => ({ file: rel(f), doc: doc as K8sObject }))));
    const ours = workloads(applied).flatMap((w) =>
      allContainers(w.template)
        .filter(runsChat4all)
        .map((c) => ({ w, c })),
    );
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

  it('every kind/name its other commands use (logs, create job --from, delete hpa, rollout) is applied', () => {
    const applied = plan.applyDirs.flatMap((dir) => filesOfDir(dir).flatMap((f) => yamlDocs(f).map((doc) => doc as K8sObject)));
    const kinds: Record<string, string> = { deployment: 'Deployment', cronjob: 'CronJob', hpa: 'HorizontalPodAutoscaler' };
    const refs = seedCommands(text).flatMap((cmd) => [
      ...[...cmd.matchAll(/\b(deployment|cronjob)\/([a-z0-9-]+)/g)].map((m) => [m[1], m[2]]),
      ...[...cmd.matchAll(/^kubectl (?:get|describe|delete) (hpa|cronjob|cronjobs|deployment) ([a-z][a-z0-9-]*)/g)].map((m) => [m[1].replace(/s$/, ''), m[2]]),
    ]);
    expect(refs.length).toBeGreaterThan(5);
    for (const [kind, name] of refs)
      expect(
        applied.some((o) => o.kind === kinds[kind] && o.metadata.name === name),
        `${kind}/${name}`,
      ).toBe(true);
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
