import { beforeEach, describe, expect, it } from 'vitest';
import { TenantCrypto, TenantKeyUnavailableError } from '../../layers/core/crypto.ts';
import { toProblem } from '../../layers/http/problems.ts';
import { FakeClock, FakeKeyringStore, FakeKeyService } from '../support/fakes.ts';

describe('per-tenant envelope encryption', () => {
  let keys: FakeKeyService;
  let keyrings: FakeKeyringStore;
  let clock: FakeClock;
  let crypto: TenantCrypto;
  const limits = { maxAgeMs: 300_000, maxUses: 1_000, maxDecryptEntries: 100 };

  beforeEach(() => {
    keys = new FakeKeyService();
    keyrings = new FakeKeyringStore();
    clock = new FakeClock();
    crypto = new TenantCrypto('eu', { keys, keyrings, clock, limits });
  });

  const text = async (p: Promise<Buffer>) => (await p).toString('utf8');
  const content = '{"to":"+4915123456789","body":"Hallo"}';

  it('seals an item so that only the same tenant, purpose and item open it', async () => {
    const sealed = await crypto.seal('ten_A', 'message', 'msg_1', content);
    expect(Buffer.from(sealed.blob).toString('latin1')).not.toMatch(/4915123456789|Hallo/);
    await expect(text(crypto.open('ten_A', 'message', 'msg_1', sealed))).resolves.toBe(content);
    // Another tenant, even one holding the blob and its wrapped data key, cannot open it.
    await expect(crypto.open('ten_B', 'message', 'msg_1', sealed)).rejects.toThrow();
    // A wrong encryption context (purpose) is refused by the key service itself.
    await expect(crypto.open('ten_A', 'idempotency', 'msg_1', sealed)).rejects.toThrow();
    // A blob moved to another item fails its authentication tag, and so does a flipped bit.
    await expect(crypto.open('ten_A', 'message', 'msg_2', sealed)).rejects.toThrow();
    const tampered = Buffer.from(sealed.blob);
    tampered[tampered.length - 1]! ^= 1;
    await expect(crypto.open('ten_A', 'message', 'msg_1', { ...sealed, blob: tampered })).rejects.toThrow();
  });

  it("refuses another jurisdiction's context: an EU blob does not open as global", async () => {
    const sealed = await crypto.seal('ten_A', 'message', 'msg_1', '+4915123456789');
    const global = new TenantCrypto('global', { keys, keyrings, clock, limits });
    await expect(global.open('ten_A', 'message', 'msg_1', sealed)).rejects.toThrow();
  });

  it('asks KMS for one data key per tenant and purpose per cache window, however many messages', async () => {
    const tenants = Array.from({ length: 50 }, (_, i) => `ten_${i}`);
    for (let i = 0; i < 10_000; i++) {
      await crypto.seal(tenants[i % 50]!, 'message', `msg_${i}`, '+4915123456789');
    }
    // Per tenant: one data key wraps its pseudonym secret at key creation, one serves the messages.
    expect(keys.calls.createTenantKey).toBe(50);
    expect(keys.calls.generateDataKey).toBe(100);
    clock.advance(300_001);
    await crypto.seal('ten_0', 'message', 'msg_x', '+4915123456789');
    expect(keys.calls.generateDataKey).toBe(101);
  });

  it('retires a data key after its maximum number of uses', async () => {
    for (let i = 0; i < 1_000; i++) await crypto.seal('ten_A', 'message', `m${i}`, 'x');
    const before = keys.calls.generateDataKey;
    await crypto.seal('ten_A', 'message', 'one-more', 'x');
    expect(keys.calls.generateDataKey).toBe(before + 1);
  });

  it('gives each tenant its own stable pseudonyms, and none without a key', async () => {
    const a1 = await crypto.pseudonym('ten_A', '+4915123456789');
    const a2 = await crypto.pseudonym('ten_A', '+4915123456789');
    const b = await crypto.pseudonym('ten_B', '+4915123456789');
    expect(a1).toBe(a2);
    expect(a1).not.toBe(b);
    expect(a1).not.toContain('4915123456789');
    await expect(crypto.pseudonym('ten_C', '+4915123456789', false)).resolves.toBeUndefined();
  });

  it('stops working for a closed tenant once its key is scheduled for deletion', async () => {
    const sealed = await crypto.seal('ten_A', 'message', 'msg_1', '+4915123456789');
    const record = await keyrings.get('ten_A');
    await keys.scheduleKeyDeletion(record!.keyId);
    await keyrings.markClosed('ten_A', clock.now(), new Date());
    crypto.forget('ten_A');
    await expect(crypto.open('ten_A', 'message', 'msg_1', sealed)).rejects.toThrow();
    await expect(crypto.seal('ten_A', 'message', 'msg_2', 'x')).rejects.toBeInstanceOf(
      TenantKeyUnavailableError,
    );
    // A request still carrying a cached authorization is answered like a revoked key, not a 500.
    expect(toProblem(new TenantKeyUnavailableError('ten_A')).status).toBe(401);
    await expect(crypto.pseudonym('ten_A', '+4915123456789', false)).resolves.toBeUndefined();
  });
});

describe("a tenant's key being created while another caller only looks it up", () => {
  /** A keyring store whose reads wait until the test lets them go: the race, held open. */
  class GatedKeyrings extends FakeKeyringStore {
    private gate: Promise<void> = Promise.resolve();
    open: () => void = () => {};
    hold() {
      this.gate = new Promise((resolve) => {
        this.open = resolve;
      });
    }
    override async get(tenantId: string) {
      await this.gate;
      return super.get(tenantId);
    }
  }

  it('never answers "closed" to a caller that may create the key, when a look-up that may not is in flight', async () => {
    const keyrings = new GatedKeyrings();
    const crypto = new TenantCrypto('eu', { keys: new FakeKeyService(), keyrings, clock: new FakeClock() });
    keyrings.hold();
    // A send's opt-out check (may not create: no key means nobody opted out) starts first...
    const lookup = crypto.pseudonym('ten_NEW', '+4915123456789', false);
    // ...and the same tenant's first message to the EU seals while that look-up is in flight.
    const sealing = crypto.seal('ten_NEW', 'message', 'msg_1', 'hello');
    const creating = crypto.pseudonym('ten_NEW', '+4915123456789');
    keyrings.open();
    const [looked, sealed, created] = await Promise.allSettled([lookup, sealing, creating]);
    expect(looked).toEqual({ status: 'fulfilled', value: undefined });
    expect(sealed.status).toBe('fulfilled');
    expect(created).toMatchObject({ status: 'fulfilled', value: expect.stringMatching(/^[\w-]{43}$/) });
    if (sealed.status === 'fulfilled') {
      await expect(crypto.open('ten_NEW', 'message', 'msg_1', sealed.value)).resolves.toEqual(
        Buffer.from('hello'),
      );
    }
    // A closed tenant is still told so.
    await keyrings.markClosed('ten_NEW', new Date(), new Date());
    crypto.forget('ten_NEW');
    await expect(crypto.seal('ten_NEW', 'message', 'msg_2', 'x')).rejects.toBeInstanceOf(
      TenantKeyUnavailableError,
    );
  });
});
