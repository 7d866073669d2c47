import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// JSON bodies are taken as typed: `"conversation_id": "5"` is a client error, not something to
// guess about. Paths and query strings are text: see `textValidator`.
const make = (coerceTypes: boolean) => {
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: true, allErrors: false, strict: false });
  addFormats.default(ajv);
  return ajv;
};
const strict = make(false);
const coercing = make(true);

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const bounded = withIntegerBounds(schema) as object;
  if (httpPart === 'params' || httpPart === 'querystring') return textValidator(bounded) as ReturnType<FastifySchemaCompiler<object>>;
  return (httpPart === 'body' ? strict : coercing).compile(bounded) as ReturnType<FastifySchemaCompiler<object>>;
};

/**
 * A copy of `schema` where every integer without a bound gets ±(2^53 − 1): integers beyond are not
 * exact in JavaScript and `1e300` or `99999999999999999999` must be a 400 here, never a database
 * error (bigint) later. Routes should still state their own bounds, which the OpenAPI shows.
 */
export function withIntegerBounds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withIntegerBounds);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = withIntegerBounds(value);
  const type = copy.type;
  if (type === 'integer' || (Array.isArray(type) && type.includes('integer'))) {
    if (copy.maximum === undefined && copy.exclusiveMaximum === undefined) copy.maximum = Number.MAX_SAFE_INTEGER;
    if (copy.minimum === undefined && copy.exclusiveMinimum === undefined) copy.minimum = -Number.MAX_SAFE_INTEGER;
  }
  return copy;
}

// Plain decimal text only: Ajv's own coercion would also read "1e3", "0x10" or " 5" as numbers.
const TEXT_AS = {
  integer: (v: string) => (/^-?\d+$/.test(v) ? Number(v) : v),
  number: (v: string) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v),
  boolean: (v: string) => (v === 'true' ? true : v === 'false' ? false : v),
} as const;

/**
 * Validates path or query parameters: values written as plain numbers (or true/false) become
 * typed where the schema asks for that type; anything else stays text and fails validation.
 */
function textValidator(schema: object) {
  const validate = strict.compile(schema);
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const typed = Object.entries(properties).flatMap(([key, s]) =>
    typeof s.type === 'string' && s.type in TEXT_AS ? [[key, TEXT_AS[s.type as keyof typeof TEXT_AS]] as const] : [],
  );
  const check = (data: unknown) => {
    if (data && typeof data === 'object') {
      const values = data as Record<string, unknown>;
      for (const [key, parse] of typed) if (typeof values[key] === 'string') values[key] = parse(values[key]);
    }
    const isValid = validate(data);
    check.errors = validate.errors;
    return isValid;
  };
  check.errors = validate.errors;
  return check;
}

export function addSharedSchema(schema: object & { $id?: string }): void {
  strict.addSchema(schema);
  coercing.addSchema(schema);
}
