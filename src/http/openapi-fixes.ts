/**
 * Corrections applied to the generated OpenAPI document: what route schemas cannot say the way
 * OpenAPI wants it.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks an untyped JSON document
type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];

/**
 * A query/path/header parameter with a default is optional (the route's schema lists it as
 * required only because the validator fills the default in before checking).
 */
export function fixOpenApi<T extends Json>(doc: T): T {
  for (const item of Object.values((doc.paths ?? {}) as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (!operation) continue;
      for (const parameter of (operation.parameters ?? []) as Json[]) {
        if (parameter.in !== 'path' && parameter.schema?.default !== undefined) parameter.required = false;
      }
      for (const media of Object.values((operation.requestBody?.content ?? {}) as Record<string, Json>)) optionalDefaults(media.schema);
    }
  }
  return doc;
}

function optionalDefaults(schema: Json | undefined): void {
  if (!schema || typeof schema !== 'object' || !Array.isArray(schema.required) || !schema.properties) return;
  schema.required = (schema.required as string[]).filter((name) => schema.properties[name]?.default === undefined);
  if ((schema.required as string[]).length === 0) delete schema.required;
}
