/**
 * k8s/README.md: the commands and names it tells users to type exist in what we ship.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, checkInvocation, manifests, read, subcommands, workerRoles, workloads } from './support.ts';

const readme = read('k8s/README.md');
const all = manifests();
const { names: commands } = await subcommands();
const roles = workerRoles();

/** Text inside fenced code blocks and `inline code`. */
const code = [...readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g), ...readme.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]).join('\n');

const KIND_OF: Record<string, string> = {
  deployment: 'Deployment',
  deploy: 'Deployment',
  cronjob: 'CronJob',
  hpa: 'HorizontalPodAutoscaler',
  configmap: 'ConfigMap',
  service: 'Service',
  svc: 'Service',
  ingress: 'Ingress',
  pdb: 'PodDisruptionBudget',
};

describe('k8s/README.md', () => {
  it('keeps the sections users rely on', () => {
    for (const heading of [
      'Prerequisites',
      'Quick start',
      'CronJob',
      'Horizontal Pod Autoscaling',
      'Health checks',
      'Resource',
      'Security',
      'Monitoring',
      'What to monitor',
      'Backups',
      'Troubleshooting',
      'Production checklist',
      'Rolling updates',
      'Scaling',
      'Cleanup',
    ]) {
      expect(readme, heading).toMatch(new RegExp(`^##+ .*${heading}`, 'mi'));
    }
  });

  it('every `chat4all <subcommand>` it shows is a real one', () => {
    const uses = [...code.matchAll(/(?:^|-- )chat4all ((?:[a-z][\w-]*|--\w+|'[^']*'|\d+)(?: (?:[a-z][\w,-]*|--[\w=,-]+|'[^']*'|\d+))*)/gm)].map((m) =>
      m[1].split(' '),
    );
    expect(uses.length).toBeGreaterThan(3);
    const problems = uses.flatMap((argv) => checkInvocation(argv, commands, roles).map((p) => `chat4all ${argv.join(' ')}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('every kind/name it refers to exists in k8s/', () => {
    const refs = [...code.matchAll(/\b(deployment|deploy|cronjob|hpa|configmap|service|svc|pdb)\/([a-z0-9-]+)/g)];
    refs.push(...[...code.matchAll(/kubectl (?:get|describe|delete|patch) (hpa|cronjob|deployment) ([a-z][a-z0-9-]*)/g)]);
    expect(refs.length).toBeGreaterThan(5);
    for (const [, kind, name] of refs) {
      expect(
        all.some((m) => m.doc.kind === KIND_OF[kind] && m.doc.metadata.name === name),
        `${kind}/${name}`,
      ).toBe(true);
    }
  });

  it('every file path and label selector it uses exists', () => {
    for (const [, p] of code.matchAll(/\b(k8s\/[\w./-]+|observability\/[\w./-]+)/g)) expect(existsSync(path.join(ROOT, p)), p).toBe(true);
    const labels = workloads(all).map((w) => w.template.metadata?.labels ?? {});
    for (const [, k, v] of code.matchAll(/-l ([\w.-]+)=([\w.-]+)/g))
      expect(
        labels.some((l) => l[k] === v),
        `${k}=${v}`,
      ).toBe(true);
  });

  it('container names used with -c or set image exist', () => {
    const containers = new Set(workloads(all).flatMap((w) => [...(w.template.spec.initContainers ?? []), ...w.template.spec.containers].map((c) => c.name)));
    for (const [, c] of code.matchAll(/ -c ([a-z][\w-]*)/g)) expect(containers.has(c), c).toBe(true);
    for (const [, c] of code.matchAll(/ ([a-z][\w-]*)=registry\.example\.com\//g)) expect(containers.has(c), c).toBe(true);
  });
});
