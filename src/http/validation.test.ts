import { describe, expect, it } from 'vitest';
import { Type } from 'typebox';
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { validatorCompiler, withIntegerBounds } from './validation.ts';

const compile = (schema: object, httpPart: string) =>
  validatorCompiler({ schema, httpPart, method: 'GET', url: '/' } as FastifyRouteSchemaDef<object>) as (data: unknown) => boolean;

describe('integer bounds', () => {
  it('gives every integer without a bound the range of exact JavaScript integers', () => {
    const schema = Type.Object({
      a: Type.Integer(),
      b: Type.Integer({ minimum: 0 }),
      c: Type.Array(Type.Integer({ maximum: 9 })),
      d: Type.Integer({ exclusiveMaximum: 5 }),
    });
    expect(withIntegerBounds(schema)).toMatchObject({
      properties: {
        a: { minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
        b: { minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        c: { items: { minimum: -Number.MAX_SAFE_INTEGER, maximum: 9 } },
        d: { minimum: -Number.MAX_SAFE_INTEGER, exclusiveMaximum: 5 },
      },
    });
    expect((withIntegerBounds(schema) as { properties: { d: object } }).properties.d).not.toHaveProperty('maximum');
    expect(schema.properties.a).not.toHaveProperty('maximum');
  });
  it('refuses huge integers in bodies and query strings whose schema states no bound', () => {
    const body = compile(Type.Object({ n: Type.Integer() }), 'body');
    expect(body({ n: Number.MAX_SAFE_INTEGER })).toBe(true);
    expect(body({ n: 1e300 })).toBe(false);
    expect(body({ n: -(2 ** 63) })).toBe(false);
    const query = compile(Type.Object({ n: Type.Integer() }), 'querystring');
    expect(query({ n: '9007199254740991' })).toBe(true);
    for (const n of ['9223372036854775808', '99999999999999999999', '1e300', '1.5']) expect(query({ n }), n).toBe(false);
  });
});
