import { beforeEach, describe, expect, it } from 'vitest';
import { makeAuthorize } from '../../functions/tenants/use-cases/authorize.ts';
import { makeTenantAdmin } from '../../functions/tenants/use-cases/manage-tenants.ts';
import { NotFoundError, UnauthorizedError } from '../../layers/core/errors.ts';
import { FakeClock, FakeTenantStore, SequenceIds } from '../support/fakes.ts';

describe('tenants, API keys and the authorizer', () => {
  let tenants: FakeTenantStore;
  let clock: FakeClock;
  let admin: ReturnType<typeof makeTenantAdmin>;
  let authorize: ReturnType<typeof makeAuthorize>;
  const pepper = async () => new Uint8Array(32).fill(1);

  beforeEach(() => {
    tenants = new FakeTenantStore();
    clock = new FakeClock();
    admin = makeTenantAdmin({
      tenants,
      ids: new SequenceIds(),
      clock,
      pepper,
      createTenantKey: async () => {},
    });
    authorize = makeAuthorize({ tenants, pepper, clock });
  });

  const newTenant = () =>
    admin.createTenant({
      displayName: 'Acme',
      legalName: 'Acme Ltd',
      contactEmail: 'ops@acme.test',
      homeJurisdiction: 'eu',
    });

  it('issues a key shown once and stores only its HMAC', async () => {
    const t = await newTenant();
    const issued = await admin.issueKey(t.id, { name: 'ci', mode: 'live', scopes: ['send'] });
    expect(issued.secret).toMatch(/^sk_live_/);
    const stored = [...tenants.keys.values()][0]!;
    expect(JSON.stringify(stored)).not.toContain(issued.secret);
    expect(JSON.stringify(await admin.listKeys(t.id))).not.toContain(issued.secret.slice(8, -4));
  });

  it('resolves a valid key to its tenant, mode and scopes', async () => {
    const t = await newTenant();
    const { secret, id } = await admin.issueKey(t.id, { name: 'ci', mode: 'test', scopes: ['send', 'read'] });
    await expect(authorize(`Bearer ${secret}`)).resolves.toEqual({
      tenantId: t.id,
      keyId: id,
      mode: 'test',
      scopes: ['send', 'read'],
      retention: { bodyDays: 7, metadataDays: 90 },
      // Strict unless the tenant opts in to forwarding (a cross-border transfer).
      residency: 'strict',
    });
  });

  it.each([
    [undefined, 'Authorization'],
    ['Basic abc', 'Authorization'],
    ['Bearer sk_live_nope', 'malformed'],
  ])('refuses the header %s', async (header, reason) => {
    await expect(authorize(header)).rejects.toThrow(reason);
  });

  it.each(['bearer ', 'BEARER ', 'Bearer   '])(
    'takes the scheme %j in any case (RFC 9110: auth schemes are case-insensitive)',
    async (prefix) => {
      const t = await newTenant();
      const { secret, id } = await admin.issueKey(t.id, { name: 'ci', mode: 'test', scopes: ['read'] });
      await expect(authorize(`${prefix}${secret}`)).resolves.toMatchObject({ keyId: id });
    },
  );

  it('refuses a well-formed key nobody issued', async () => {
    const other = makeTenantAdmin({
      tenants: new FakeTenantStore(),
      ids: new SequenceIds(),
      clock,
      pepper,
      createTenantKey: async () => {},
    });
    const t = await other.createTenant({
      displayName: 'x',
      legalName: 'x',
      contactEmail: 'x@x.x',
      homeJurisdiction: 'global',
    });
    const { secret } = await other.issueKey(t.id, { name: 'x', mode: 'live', scopes: ['send'] });
    await expect(authorize(`Bearer ${secret}`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses a revoked key at once', async () => {
    const t = await newTenant();
    const { secret, id } = await admin.issueKey(t.id, { name: 'ci', mode: 'live', scopes: ['send'] });
    const revoked = await admin.revokeKey(t.id, id);
    expect(revoked.status).toBe('revoked');
    await expect(authorize(`Bearer ${secret}`)).rejects.toThrow('unknown or revoked');
  });

  it('keeps a rotated key working through its grace period only', async () => {
    const t = await newTenant();
    const old = await admin.issueKey(t.id, { name: 'ci', mode: 'live', scopes: ['send', 'read'] });
    const { key, previous } = await admin.rotateKey(t.id, old.id, 3600);
    expect(previous).toMatchObject({ status: 'active', replacedBy: key.id });
    expect(key.scopes).toEqual(['send', 'read']);
    await expect(authorize(`Bearer ${old.secret}`)).resolves.toMatchObject({ keyId: old.id });
    await expect(authorize(`Bearer ${key.secret}`)).resolves.toMatchObject({ keyId: key.id });
    clock.advance(3600_000);
    await expect(authorize(`Bearer ${old.secret}`)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(authorize(`Bearer ${key.secret}`)).resolves.toMatchObject({ keyId: key.id });
  });

  it('does not let a later rotation revive a revoked key', async () => {
    const t = await newTenant();
    const old = await admin.issueKey(t.id, { name: 'ci', mode: 'live', scopes: ['send'] });
    await admin.revokeKey(t.id, old.id);
    await admin.rotateKey(t.id, old.id, 3600);
    await expect(authorize(`Bearer ${old.secret}`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses keys of a closed tenant', async () => {
    const t = await newTenant();
    const { secret } = await admin.issueKey(t.id, { name: 'ci', mode: 'live', scopes: ['send'] });
    tenants.tenants.get(t.id)!.status = 'closed';
    await expect(authorize(`Bearer ${secret}`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("refuses an operator's changes to a closed tenant with a conflict, and still shows it", async () => {
    const t = await newTenant();
    const old = await admin.issueKey(t.id, { name: 'ci', mode: 'live', scopes: ['send'] });
    tenants.tenants.get(t.id)!.status = 'closed';
    for (const change of [
      () => admin.issueKey(t.id, { name: 'late', mode: 'live', scopes: ['send'] }),
      () => admin.rotateKey(t.id, old.id, 60),
      () => admin.updateControls(t.id, { monthlySegmentCap: 10 }),
      () => admin.updatePolicy(t.id, { residency: 'forward' }),
    ]) {
      await expect(change()).rejects.toMatchObject({ slug: 'tenant-closed' });
    }
    expect((await admin.listKeys(t.id)).map((k) => k.id)).toEqual([old.id]);
    await expect(admin.getTenant(t.id)).resolves.toMatchObject({ status: 'closed', residency: 'strict' });
  });

  it('answers 404-style for keys and tenants that do not exist', async () => {
    await expect(
      admin.issueKey('ten_missing', { name: 'x', mode: 'live', scopes: ['send'] }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const t = await newTenant();
    await expect(admin.revokeKey(t.id, 'key_missing')).rejects.toBeInstanceOf(NotFoundError);
  });
});
