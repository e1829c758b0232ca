import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { ROUTES } from '../../layers/http/routes.ts';
import { GatewayMessage } from '../../layers/http/schemas.ts';

/*
 * A response schema names every field a client may see: a field that leaks into a response (a
 * recipient number, a secret, an internal key) must fail the schema, at any depth, so the
 * end-to-end client (test/support/http.ts), which checks every answer against its schema, fails.
 */

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  getter?: () => z.ZodType;
  values?: unknown[];
  entries?: Record<string, unknown>;
};
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

const LEAF_CANDIDATES: Record<string, unknown[]> = {
  string: ['sample', 'DE', '2026-11-30T12:00:00.000Z', '2026-11-30', 'ada@acme.test'],
  number: [1, 0.5, 0],
  boolean: [true, false],
};

/**
 * Values the schema takes, together covering every member of every union in it (each nullable
 * and optional field given, so nested objects are there to be tested).
 */
function samples(schema: z.ZodType): unknown[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const fields = Object.entries(def.shape ?? {}).map(([k, v]) => [k, samples(v)] as const);
      const count = Math.max(1, ...fields.map(([, values]) => values.length));
      return Array.from({ length: count }, (_, i) =>
        Object.fromEntries(fields.map(([k, values]) => [k, values[i % values.length]])),
      );
    }
    case 'array':
      return samples(def.element as z.ZodType).map((item) => [item]);
    case 'union':
      return (def.options ?? []).flatMap(samples);
    case 'nullable':
    case 'optional':
    case 'default':
    case 'readonly':
      return samples(def.innerType as z.ZodType);
    case 'lazy':
      return samples((def.getter as () => z.ZodType)());
    case 'literal':
      return def.values ?? [];
    case 'enum':
      return Object.values(def.entries ?? {}).slice(0, 1);
    default: {
      const leaf = (LEAF_CANDIDATES[def.type] ?? []).find((v) => schema.safeParse(v).success);
      if (leaf === undefined) throw new Error(`no sample for a ${def.type}`);
      return [leaf];
    }
  }
}

/** Every object in a value, with its path. */
function objectsIn(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => objectsIn(v, [...path, i]));
  if (value === null || typeof value !== 'object') return [];
  return [path, ...Object.entries(value).flatMap(([k, v]) => objectsIn(v, [...path, k]))];
}

/** The value with one field no schema names added to the object at `path`. */
function withLeak(value: unknown, path: (string | number)[]): unknown {
  const copy = structuredClone(value);
  let target = copy as Record<string | number, unknown>;
  for (const step of path) target = target[step] as Record<string | number, unknown>;
  const leak = ['to', 'secret', 'recipientPseudonym'].find((k) => !(k in target)) as string;
  target[leak] = '+12025550100';
  return copy;
}

const schemas = new Map<z.ZodType, string>([[GatewayMessage, 'GatewayMessage']]);
for (const route of ROUTES)
  for (const [code, response] of Object.entries(route.responses))
    if (response.schema && !schemas.has(response.schema))
      schemas.set(response.schema, `${code} of ${route.method} ${route.path}`);

describe('every documented response schema', () => {
  it.each([...schemas].map(([schema, where]) => [where, schema] as const))(
    'refuses a field it does not name, at any depth: the %s',
    (_, schema) => {
      const values = samples(schema);
      expect(values.length).toBeGreaterThan(0);
      for (const value of values) {
        expect(schema.safeParse(value).error?.issues ?? []).toEqual([]);
        const places = objectsIn(value);
        expect(places.length).toBeGreaterThan(0);
        for (const place of places) {
          expect(
            schema.safeParse(withLeak(value, place)).success,
            `an extra field at /${place.join('/')} of ${JSON.stringify(value)} passed`,
          ).toBe(false);
        }
      }
    },
  );
});
