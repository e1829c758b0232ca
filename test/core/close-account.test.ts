import { describe, expect, it } from 'vitest';
import { makeCloseAccount } from '../../functions/tenants/use-cases/close-account.ts';
import { TenantCrypto } from '../../layers/core/crypto.ts';
import type { Jurisdiction } from '../../layers/core/model.ts';
import {
  FakeClock,
  FakeKeyringStore,
  FakeKeyService,
  FakeMessageStore,
  FakeTenantStore,
  tenantRecord,
} from '../support/fakes.ts';

/** A closure's calls, in order, each with the jurisdiction it touched. */
function closure(jurisdictions?: readonly Jurisdiction[]) {
  const calls: string[] = [];
  const clock = new FakeClock(new Date('2026-11-24T23:59:30Z'));
  const tenants = new FakeTenantStore();
  const per = <T>(make: (j: Jurisdiction) => T): Record<Jurisdiction, T> => ({
    global: make('global'),
    eu: make('eu'),
  });
  const keys = per(() => new FakeKeyService());
  const keyrings = per((j) => {
    const store = new FakeKeyringStore();
    const markClosed = store.markClosed.bind(store);
    store.markClosed = async (...args) => {
      calls.push(`${j} keyring closed`);
      return markClosed(...args);
    };
    return store;
  });
  const messages = per((j) => {
    const store = new FakeMessageStore();
    store.removeTenant = async () => {
      calls.push(`${j} messages removed`);
      return 3;
    };
    return store;
  });
  const usage = per((j) => ({
    forgetTenant: async (tenantId: string, today: string) => {
      calls.push(`${j} analytics forget ${tenantId} ${today}`);
      return j === 'global' ? 4 : 2;
    },
  }));
  const close = makeCloseAccount({
    tenants,
    messages,
    idempotencyScope: { removeTenant: async () => 0 },
    counters: { removeBucket: async () => {} },
    webhookHistory: per(() => ({ removeTenant: async () => 0 })),
    keyrings,
    keys,
    crypto: per((j) => new TenantCrypto(j, { keys: keys[j], keyrings: keyrings[j], clock })),
    usage,
    clock,
    keyDeletionDays: 7,
    backupWindowDays: 35,
    recordsRetentionDays: 3650,
    ...(jurisdictions ? { jurisdictions } : {}),
  });
  return { close, calls, tenants, keyrings, keys };
}

describe('account closure and the gateway-wide analytics cells', () => {
  it("takes the tenant's id out of its own jurisdiction's cells, after its keyring closes and its messages go, and counts them", async () => {
    const { close, calls, tenants, keyrings, keys } = closure(['global']);
    await tenants.createTenant(tenantRecord({ id: 'ten_A' }));
    const keyId = await keys.global.createTenantKey('ten_A', 'global');
    await keyrings.global.putIfAbsent({
      tenantId: 'ten_A',
      keyId,
      wrappedSecret: new Uint8Array(32),
      createdAt: '2026-01-01T00:00:00Z',
    });

    const closed = await close('ten_A');

    expect(calls).toEqual([
      'global keyring closed',
      'global messages removed',
      'global analytics forget ten_A 2026-11-24',
    ]);
    expect(closed.jurisdictions).toEqual([
      expect.objectContaining({ jurisdiction: 'global', itemsRemoved: 3, analyticsCellsScrubbed: 4 }),
    ]);
  });

  it('scrubs each jurisdiction it closes, one with no keyring too (a tenant that never sent there)', async () => {
    const { close, calls, tenants } = closure();
    await tenants.createTenant(tenantRecord({ id: 'ten_B' }));
    const closed = await close('ten_B');
    expect(calls.filter((c) => c.includes('analytics'))).toEqual([
      'global analytics forget ten_B 2026-11-24',
      'eu analytics forget ten_B 2026-11-24',
    ]);
    expect(closed.jurisdictions.map((j) => [j.jurisdiction, j.analyticsCellsScrubbed])).toEqual([
      ['global', 4],
      ['eu', 2],
    ]);
  });
});
