/**
 * The manifests and docker-compose.yml only run real `chat4all` subcommands and only set
 * environment variables that src/config.ts reads; every ConfigMap key they reference exists.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONFIGMAP_FILE,
  CONFIG_TS,
  ROOT,
  allContainers,
  asList,
  chat4allWorkloads,
  chat4allServices,
  checkInvocation,
  cliArgs,
  compose,
  composeEnvNames,
  configNames,
  isChat4allContainer,
  isConfigName,
  manifests,
  read,
  subcommands,
  workerRoles,
  workloads,
  yamlDocs,
} from './support.ts';

const all = manifests();
const { names: commands, source } = await subcommands();
const roles = workerRoles();
const names = configNames();
const [configMap] = yamlDocs(CONFIGMAP_FILE) as { data: Record<string, string> }[];

describe('chat4all subcommands', () => {
  it(`knows the subcommands (from ${source}) and the worker roles`, () => {
    expect(commands.size).toBeGreaterThan(3);
    expect(roles).toEqual(expect.arrayContaining(['relay', 'router', 'connectors', 'status', 'scheduler']));
  });

  it('the invocation checker rejects what the CLI would reject', () => {
    expect(checkInvocation(['api'], commands, roles)).toEqual([]);
    expect(checkInvocation(['serve'], commands, roles)).not.toEqual([]);
    expect(checkInvocation(['worker', '--roles', 'relay,sender'], commands, roles).join()).toMatch(/sender/);
    expect(cliArgs(['sh', '-c', 'chat4all api'], undefined)).toBeUndefined();
  });

  it('every Kubernetes container of our image runs the chat4all CLI with a real subcommand', () => {
    const problems: string[] = [];
    for (const w of workloads(all)) {
      for (const c of allContainers(w.template).filter(isChat4allContainer)) {
        const where = `${w.manifest.file} container ${c.name}`;
        const argv = cliArgs(c.command, c.args);
        if (!argv) problems.push(`${where}: command ${JSON.stringify(c.command)} is not the chat4all CLI`);
        else for (const p of checkInvocation(argv, commands, roles)) problems.push(`${where}: ${p}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the containers cover the roles of the deployment: api, worker, gc, migrate', () => {
    const used = new Set(workloads(all).flatMap((w) => allContainers(w.template).map((c) => cliArgs(c.command, c.args)?.[0])));
    for (const cmd of ['api', 'worker', 'gc', 'migrate']) expect(used.has(cmd), cmd).toBe(true);
  });

  it('every docker-compose service built from our image runs a real subcommand', () => {
    const services = chat4allServices();
    expect(services.map(([n]) => n)).toEqual(expect.arrayContaining(['migrate', 'api', 'worker']));
    const problems: string[] = [];
    for (const [name, s] of services) {
      const argv = cliArgs(s.entrypoint === undefined ? undefined : asList(s.entrypoint), asList(s.command));
      if (!argv) problems.push(`compose service ${name}: entrypoint is not the chat4all CLI`);
      else for (const p of checkInvocation(argv, commands, roles)) problems.push(`compose service ${name}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  it('the image entrypoint is the package bin (bin/chat4all.js)', () => {
    const pkg = JSON.parse(read('package.json')) as { bin?: Record<string, string> };
    expect(pkg.bin?.chat4all).toBe('bin/chat4all.js');
    if (existsSync(path.join(ROOT, 'bin/chat4all.js'))) expect(read('bin/chat4all.js')).toMatch(/src\/cli\//);
    expect(read('Dockerfile')).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/chat4all\.js"\]$/m);
  });
});

describe('environment variables', () => {
  it(`the checker knows the names ${CONFIG_TS} reads`, () => {
    for (const n of ['PORT', 'DATABASE_URL', 'KAFKA_BROKERS', 'JWT_SECRET_KEY', 'GC_RETENTION_HOURS']) expect(isConfigName(n, names), n).toBe(true);
    for (const n of ['TELEGRAM_BOT_TOKEN', 'META_GRAPH_VERSION', 'CHANNEL_AGENTS_WHATSAPP', 'TELEGRAM_RATE_PER_SECOND'])
      expect(isConfigName(n, names), n).toBe(true);
    // NODE_ENV=production (the image sets it) means production, so config.ts reads it too.
    expect(isConfigName('NODE_ENV', names)).toBe(true);
    expect(isConfigName('NODE_OPTIONS', names)).toBe(false);
    expect(isConfigName('DATABASE_HOST', names)).toBe(false);
  });

  it(`every ConfigMap key is a variable ${CONFIG_TS} reads (pods load the ConfigMap with envFrom)`, () => {
    const unknown = Object.keys(configMap.data).filter((k) => !isConfigName(k, names));
    expect(unknown).toEqual([]);
  });

  it(`every env entry of every container of our image is a variable ${CONFIG_TS} reads`, () => {
    const unknown: string[] = [];
    for (const w of chat4allWorkloads(all)) {
      for (const c of allContainers(w.template))
        for (const e of c.env ?? []) if (!isConfigName(e.name, names)) unknown.push(`${w.manifest.file} ${c.name}: ${e.name}`);
    }
    expect(unknown).toEqual([]);
  });

  it('every configMapKeyRef of our image names a key of the ConfigMap', () => {
    for (const w of chat4allWorkloads(all)) {
      for (const c of allContainers(w.template)) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.configMapKeyRef;
          if (ref) expect(Object.keys(configMap.data), `${w.manifest.file} ${c.name} ${e.name}`).toContain(ref.key);
        }
      }
    }
  });

  it(`every environment variable of our compose services is one ${CONFIG_TS} reads`, () => {
    const unknown: string[] = [];
    for (const [name, s] of chat4allServices(compose())) for (const e of composeEnvNames(s)) if (!isConfigName(e, names)) unknown.push(`${name}: ${e}`);
    expect(unknown).toEqual([]);
  });

  it('trusts exactly the ingress as a proxy: a client cannot choose its rate-limit address or the Location host', () => {
    expect(configMap.data.TRUST_PROXY).toBe('1');
  });

  it('production settings: no demo users, closed registration, a JWT secret from the Secret', () => {
    expect(configMap.data.DEMO_USERS).toBe('false');
    expect(configMap.data.REGISTRATION).toBe('closed');
    expect(configMap.data.ENVIRONMENT).toBe('production');
    expect(configMap.data.JWT_SECRET_KEY, 'secrets belong in the Secret').toBeUndefined();
    expect(configMap.data.DATABASE_URL, 'secrets belong in the Secret').toBeUndefined();
  });
});
