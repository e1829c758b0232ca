import { describe, expect, it } from 'vitest';
import { loadRegionalSystemSecret, loadSystemSecret } from '../../layers/core/system-secrets.ts';
import type { SecretStore } from '../../layers/ports/index.ts';
import { FakeKeyService } from '../support/fakes.ts';

/** The tenants table's secrets, as both regions' replicas hold them once replication caught up. */
class MemorySecrets implements SecretStore {
  readonly items = new Map<string, Uint8Array>();
  async getWrapped(name: string) {
    return this.items.get(name);
  }
  async put(name: string, value: Uint8Array) {
    this.items.set(name, value);
  }
  async putWrappedIfAbsent(name: string, wrapped: Uint8Array) {
    if (!this.items.has(name)) this.items.set(name, wrapped);
    return this.items.get(name)!;
  }
}

describe('system secrets in the EU region', () => {
  it("serves the global region's pepper from the EU region's own copy, calling the global KMS only to make that copy", async () => {
    const secrets = new MemorySecrets();
    const globalKms = new FakeKeyService();
    const euKms = new FakeKeyService();
    const globalKey = await globalKms.createTenantKey('system', 'global');
    const euKey = await euKms.createTenantKey('system', 'eu');
    const pepper = await loadSystemSecret({ keys: globalKms, secrets, keyId: globalKey }, 'api-key-pepper');
    const eu = {
      keys: euKms,
      secrets,
      keyId: euKey,
      source: { keys: globalKms, keyId: globalKey },
      region: 'eu-central-1',
    };

    expect(await loadRegionalSystemSecret(eu, 'api-key-pepper')).toEqual(pepper);
    const globalCalls = { ...globalKms.calls };
    expect(secrets.items.has('api-key-pepper@eu-central-1')).toBe(true);
    // A later cold start in the EU region (the global region down): its own copy and KMS only.
    expect(await loadRegionalSystemSecret(eu, 'api-key-pepper')).toEqual(pepper);
    expect(globalKms.calls).toEqual(globalCalls);
    expect(euKms.calls.decrypt).toBe(1);

    // The EU key gone (a replaced stack): the copy is made again from the global one.
    await euKms.scheduleKeyDeletion(euKey);
    const newEuKey = await euKms.createTenantKey('system2', 'eu');
    expect(await loadRegionalSystemSecret({ ...eu, keyId: newEuKey }, 'api-key-pepper')).toEqual(pepper);
    expect(await loadRegionalSystemSecret({ ...eu, keyId: newEuKey }, 'api-key-pepper')).toEqual(pepper);
    expect(globalKms.calls.decrypt).toBe(globalCalls.decrypt + 1);
  });
});
