/** The text rule (src/domain/text.ts) at the HTTP edge: every string a request carries is checked once, before validation. */
import type { FastifyRequest } from 'fastify';
import { invalid } from '../domain/errors.ts';
import { textFault } from '../domain/text.ts';

export type TextFault = { path: string; message: string };

/**
 * The first string or property name in a parsed JSON value (or a query or path object) that is not
 * acceptable text, with its JSON pointer under `root`. Iterative: a deeply nested body must not
 * overflow the stack. Streams and buffers (upload bodies) are not text and are skipped.
 */
export function findInvalidText(value: unknown, root = ''): TextFault | undefined {
  // Paths are built only for the fault: most bodies have none, and building one per value is the cost.
  const pending: Step[] = [{ value, key: undefined, parent: undefined }];
  for (let step = pending.pop(); step; step = pending.pop()) {
    const item = step.value;
    if (typeof item === 'string') {
      const fault = textFault(item);
      if (fault) return { path: pathOf(root, step), message: fault };
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push({ value: item[i], key: String(i), parent: step });
    } else if (isRecord(item)) {
      const keys = Object.keys(item);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const fault = textFault(key);
        if (fault) return { path: pathOf(root, { value: undefined, key, parent: step }), message: `has a name that ${fault}` };
        pending.push({ value: item[key], key, parent: step });
      }
    }
  }
  return undefined;
}

type Step = { value: unknown; key: string | undefined; parent: Step | undefined };

function pathOf(root: string, step: Step): string {
  const keys: string[] = [];
  for (let at: Step | undefined = step; at?.key !== undefined; at = at.parent) keys.push(at.key.replace(/~/g, '~0').replace(/\//g, '~1'));
  return (
    root +
    keys
      .reverse()
      .map((k) => `/${k}`)
      .join('')
  );
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** `bytes` as text when they are UTF-8 (not replacing what is not: that is refused); undefined otherwise. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** 400 `invalid-text` naming the field (in `errors`, as validation failures do). */
export function invalidText(where: string, fault: TextFault) {
  return invalid('invalid-text', `The ${where} field ${fault.path} ${fault.message}`, { errors: [fault] });
}

function refuseText(where: string, fault: TextFault | undefined): void {
  if (fault) throw invalidText(where, fault);
}

/**
 * preValidation hook for every route: path parameters, query string, headers and a parsed body.
 * Node's HTTP parser already refuses NUL in headers; checking them here keeps the rule whatever
 * carries the request (inject, another transport). Header paths are `/headers/<name>`.
 */
export async function refuseInvalidText(request: FastifyRequest): Promise<void> {
  refuseText('path', findInvalidText(request.params));
  refuseText('query string', findInvalidText(request.query));
  refuseText('header', findInvalidText(request.headers, '/headers'));
  refuseText('body', findInvalidText(request.body));
}

/** Parsed JSON, form fields, query and path objects; not a streamed or buffered upload body. */
function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return false;
  return typeof (value as { pipe?: unknown }).pipe !== 'function';
}
