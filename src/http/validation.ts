import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// Query strings and paths are text, so their numbers are coerced; JSON bodies are taken as typed:
// `"conversation_id": "5"` is a client error, not something to guess about.
const make = (coerceTypes: boolean) => {
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: true, allErrors: false, strict: false });
  addFormats.default(ajv);
  return ajv;
};
const strict = make(false);
const coercing = make(true);

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema) as ReturnType<FastifySchemaCompiler<object>>;

export function addSharedSchema(schema: object & { $id?: string }): void {
  strict.addSchema(schema);
  coercing.addSchema(schema);
}
