import { describe, expect, it } from 'vitest';
import { SESSION_TENANT } from '../../infra/cdk/tenant-access.ts';
import { defineFunction, type FunctionDeclaration, tenantRoute } from '../../layers/declaration.ts';

/**
 * A tenant-scoped function's execution role keeps only gateway-wide items (`gatewayWide`), by
 * partition-key pattern: a pattern that a tenant's partition (`ten_...`, `ten_...#usage`) could
 * match would hand the execution role tenant data again, so the declaration is refused where it
 * is written.
 */
const route = (gatewayWide: FunctionDeclaration['gatewayWide'], tenantScoped = true) =>
  defineFunction({
    ...tenantRoute({
      name: 'example',
      description: 'an example route',
      settings: [],
      ...(tenantScoped ? { tenantScoped: true as const } : {}),
      ...(gatewayWide ? { gatewayWide } : {}),
      needs: { own: { messages: 'readWrite' } },
    }),
  });

describe('gateway-wide items of a tenant-scoped function', () => {
  it('accepts fixed-word partitions such as the block list and the gateway-wide counters', () => {
    // A tenant route's execution role also keeps the rate buckets and the system secrets.
    expect(route({ messages: { read: ['BLOCK#*'], write: ['usage#*'] } }).gatewayWide).toEqual({
      messages: { read: ['BLOCK#*'], write: ['usage#*'] },
      tenants: { read: ['RATE#*', 'SYSTEM'], write: ['RATE#*', 'SYSTEM'] },
    });
  });

  it("refuses key patterns for a tenant-scoped function's tenants table: its tenant items go through its tenant role", () => {
    expect(() =>
      defineFunction({
        name: 'example',
        description: 'an example worker',
        trigger: { kind: 'http' },
        timeoutSeconds: 29,
        settings: [],
        tenantScoped: true,
        needs: { tenants: { read: ['ten_*'] } },
      }),
    ).toThrow(/through its tenant role/);
  });

  it.each([['*'], ['ten_*'], [SESSION_TENANT], ['*#usage'], ['BLOCK*'], ['#x'], ['a#*b']])(
    'refuses the pattern %s, which a tenant partition could match',
    (pattern) => {
      expect(() => route({ messages: { read: [pattern] } })).toThrow(/could match a tenant's partition/);
      expect(() => route({ messages: { write: [pattern] } })).toThrow(/could match a tenant's partition/);
      expect(() => route({ tenants: { read: [pattern] } })).toThrow(/could match a tenant's partition/);
    },
  );

  it('refuses gateway-wide access on a function that is not tenant-scoped, or an index query', () => {
    expect(() => route({ messages: { read: ['BLOCK#*'] } }, false)).toThrow(/declare tenantScoped/);
    expect(() => route({ messages: { queryIndexes: ['bySubject'] } })).toThrow(/queries no index/);
  });
});
