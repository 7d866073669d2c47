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
  if (httpPart === 'params' || httpPart === 'querystring') return textValidator(schema) as ReturnType<FastifySchemaCompiler<object>>;
  return (httpPart === 'body' ? strict : coercing).compile(schema) as ReturnType<FastifySchemaCompiler<object>>;
};

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
  const typed = Object.entries(properties).flatMap(([key, s]) => (typeof s.type === 'string' && s.type in TEXT_AS ? [[key, TEXT_AS[s.type as keyof typeof TEXT_AS]] as const] : []));
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
