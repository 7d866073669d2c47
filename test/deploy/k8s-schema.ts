/**
 * Offline Kubernetes schema validation.
 *
 * Schemas: the OpenAPI definitions that the npm package `kubernetes-models@4.3.1` ships as
 * JSON (one `_schemas/<Definition>.js` per definition, with @kubernetes-models/apimachinery
 * for ObjectMeta, Quantity, IntOrString, ...), generated from Kubernetes v1.27.1 with enums
 * restored. Kubernetes 1.28 serves the same group-versions for every kind we ship and only
 * adds fields we don't use, so an object valid here is valid on 1.28; an object using a field
 * that is newer than 1.27 would be reported (a false alarm that errs on the safe side).
 *
 * Validation is strict like `kubectl apply --validate=strict`: every object schema gets
 * `additionalProperties: false`, so a misspelt or misplaced field is an error, not a no-op.
 * Group-versions are limited to those a 1.28 API server serves (the package also keeps
 * removed ones such as autoscaling/v2beta2).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { K8sObject } from './support.ts';

/** Group-versions served by a Kubernetes 1.28 API server (GA APIs). */
export const SERVED_IN_1_28 = new Set([
  'v1',
  'apps/v1',
  'batch/v1',
  'autoscaling/v1',
  'autoscaling/v2',
  'networking.k8s.io/v1',
  'policy/v1',
  'rbac.authorization.k8s.io/v1',
  'storage.k8s.io/v1',
  'scheduling.k8s.io/v1',
  'coordination.k8s.io/v1',
  'discovery.k8s.io/v1',
  'events.k8s.io/v1',
  'node.k8s.io/v1',
  'certificates.k8s.io/v1',
  'admissionregistration.k8s.io/v1',
  'apiextensions.k8s.io/v1',
]);

const require = createRequire(import.meta.url);
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`, { paths: [process.cwd()] }));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Adds additionalProperties:false to every object schema that lists its properties. */
function strict(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && v && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strict(s)]));
    } else out[k] = strict(v);
  }
  if (out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

let cached: Ajv | undefined;

/** An Ajv instance holding every Kubernetes definition, keyed by its OpenAPI name. */
export function kubernetesAjv(): Ajv {
  if (cached) return cached;
  const ajv = new Ajv({ allErrors: true, strict: false, strictTypes: false });
  for (const f of ['int32', 'int64', 'double', 'byte', 'date-time']) ajv.addFormat(f, true);
  ajv.addFormat('quantity', /^[+-]?(\d+|\d+\.\d+|\d+\.|\.\d+)([KMGTPE]i|[YZEPTGMkhdcmunpfazy]|da|[eE][+-]?\d+)?$/);
  let count = 0;
  for (const dir of [path.join(packageDir('kubernetes-models'), '_schemas'), path.join(packageDir('@kubernetes-models/apimachinery'), '_schemas')]) {
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.js')) continue;
      const text = readFileSync(path.join(dir, name), 'utf8');
      const body = /const schema = (\{[\s\S]*?\n\});\n/.exec(text);
      const id = /register\)\("([^"]+)", schema\)/.exec(text);
      if (!body || !id) continue; // the two free-form JSON definitions of CRDs
      ajv.addSchema(strict(JSON.parse(body[1]) as Json) as object, id[1]);
      count++;
    }
  }
  if (count < 500) throw new Error(`only ${count} Kubernetes schemas found: is kubernetes-models@4.3.1 installed?`);
  cached = ajv;
  return ajv;
}

/** The OpenAPI definition name of an object: apps/v1 Deployment → io.k8s.api.apps.v1.Deployment. */
export function definitionName(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  return `io.k8s.api.${group.split('.')[0]}.${version}.${kind}`;
}

/** Human-readable problems of one object; empty when it is valid. */
export function validateObject(obj: K8sObject): string[] {
  if (!SERVED_IN_1_28.has(obj.apiVersion)) return [`apiVersion ${obj.apiVersion} is not served by Kubernetes 1.28`];
  const ajv = kubernetesAjv();
  const id = definitionName(obj.apiVersion, obj.kind);
  if (!ajv.getSchema(id)) return [`unknown kind ${obj.kind} in ${obj.apiVersion}`];
  if (ajv.validate(id, obj)) return [];
  return explain(ajv.errors ?? []);
}

/** Drops the noise of `oneOf: [ref, null]` (optional objects) and keeps the real failures. */
function explain(errors: ErrorObject[]): string[] {
  const real = errors.filter((e) => e.keyword !== 'oneOf' && !(e.keyword === 'type' && (e.params as { type?: string }).type === 'null'));
  return [
    ...new Set(
      real.map((e) => {
        const extra = (e.params as { additionalProperty?: string }).additionalProperty;
        return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra ? `: "${extra}"` : ''}`;
      }),
    ),
  ];
}
