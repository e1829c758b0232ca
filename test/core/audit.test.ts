import { describe, expect, it } from 'vitest';
import type { AuditStore } from '../../functions/audit/ports.ts';
import { makeAppendAudit, makeAuditTrail } from '../../functions/audit/use-cases/audit-trail.ts';
import {
  type AuditEvent,
  type AuditHead,
  auditHash,
  canonicalJson,
  chainEntries,
  GENESIS_HASH,
  verifyChain,
} from '../../layers/core/audit.ts';
import { auditEntry, FakeClock } from '../support/fakes.ts';

/** A fake of the store port with the real one's head condition, per tenant. */
class FakeAuditStore implements AuditStore {
  events: AuditEvent[] = [];
  heads = new Map<string, AuditHead>();
  async head(tenantId: string) {
    return this.heads.get(tenantId);
  }
  async append(tenantId: string, events: AuditEvent[], head: AuditHead, expectedSeq: number) {
    if ((this.heads.get(tenantId)?.seq ?? 0) !== expectedSeq) return false;
    this.events.push(...events);
    this.heads.set(tenantId, head);
    return true;
  }
  async list(tenantId: string) {
    return { items: this.events.filter((e) => e.tenantId === tenantId).reverse() };
  }
  async all(tenantId: string) {
    return this.events.filter((e) => e.tenantId === tenantId);
  }
}

describe('the audit hash chain', () => {
  it('links each event to the one before it, from the genesis hash', () => {
    const { events, head } = chainEntries(undefined, [auditEntry(1), auditEntry(2), auditEntry(3)]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(events[0]!.prevHash).toBe(GENESIS_HASH);
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
    expect(events[2]!.prevHash).toBe(events[1]!.hash);
    expect(head).toMatchObject({ seq: 3, hash: events[2]!.hash });
    expect(verifyChain(events)).toEqual({ intact: true, checked: 3, firstSeq: 1, lastSeq: 3 });
  });

  it('continues from a stored head, and skips entries already chained (a redelivered batch)', () => {
    const first = chainEntries(undefined, [auditEntry(1), auditEntry(2)]);
    const again = chainEntries(first.head, [auditEntry(2), auditEntry(3)]);
    expect(again.events.map((e) => [e.seq, e.id])).toEqual([[3, auditEntry(3).id]]);
    expect(verifyChain([...first.events, ...again.events]).intact).toBe(true);
  });

  it('detects an edited event, a removed event and a relinked event', () => {
    const { events } = chainEntries(
      undefined,
      [1, 2, 3, 4].map((n) => auditEntry(n)),
    );
    const edited = events.map((e) => (e.seq === 2 ? { ...e, ip: '198.51.100.1' } : e));
    expect(verifyChain(edited).broken).toEqual({ seq: 2, reason: 'hash_mismatch' });

    const removed = events.filter((e) => e.seq !== 3);
    expect(verifyChain(removed).broken).toEqual({ seq: 4, reason: 'gap' });

    // Someone rewrites event 3 with a fresh, self-consistent hash: the next link no longer holds.
    const forged = { ...events[2]!, outcome: 'failure' as const, status: 403 };
    const rehashed = { ...forged, hash: auditHash({ ...forged, hash: undefined } as never) };
    const relinked = events.map((e) => (e.seq === 3 ? rehashed : e));
    expect(verifyChain(relinked).broken).toEqual({ seq: 4, reason: 'link_mismatch' });
  });

  it('hashes a canonical form: key order does not matter, undefined members are left out', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"e":3,"f":2}]},"b":1}',
    );
    const [e] = chainEntries(undefined, [auditEntry(1)]).events;
    const reordered = Object.fromEntries(Object.entries(e!).reverse()) as AuditEvent;
    expect(verifyChain([reordered]).intact).toBe(true);
  });
});

describe('appending to trails', () => {
  it('chains each tenant and jurisdiction on its own, in the order received', async () => {
    const stores = { global: new FakeAuditStore(), eu: new FakeAuditStore() };
    const append = makeAppendAudit({ stores, clock: new FakeClock(), retentionDays: 400 });
    await append([
      auditEntry(1),
      auditEntry(2, { tenantId: 'ten_B' }),
      auditEntry(3, { jurisdiction: 'eu' }),
      auditEntry(4),
    ]);
    const global = stores.global.events;
    expect(global.filter((e) => e.tenantId === 'ten_A').map((e) => [e.seq, e.id])).toEqual([
      [1, auditEntry(1).id],
      [2, auditEntry(4).id],
    ]);
    expect(global.filter((e) => e.tenantId === 'ten_B').map((e) => e.seq)).toEqual([1]);
    expect(stores.eu.events.map((e) => [e.seq, e.id])).toEqual([[1, auditEntry(3).id]]);
  });

  it('re-reads the head when another writer moved it, and chains after that writer', async () => {
    const store = new FakeAuditStore();
    const original = store.head.bind(store);
    let raced = false;
    store.head = async (tenantId: string) => {
      const head = await original(tenantId);
      if (!raced) {
        raced = true;
        // Another writer appends between our read and our write.
        const other = chainEntries(head, [auditEntry(9)]);
        await store.append('ten_A', other.events, other.head, head?.seq ?? 0);
      }
      return head;
    };
    const append = makeAppendAudit({
      stores: { global: store, eu: new FakeAuditStore() },
      clock: new FakeClock(),
      retentionDays: 400,
    });
    await append([auditEntry(1)]);
    expect(store.events.map((e) => [e.seq, e.id])).toEqual([
      [1, auditEntry(9).id],
      [2, auditEntry(1).id],
    ]);
    expect(verifyChain(store.events).intact).toBe(true);
  });
});

describe('verifying a trail', () => {
  const trailOf = (store: FakeAuditStore) =>
    makeAuditTrail({
      stores: { global: store, eu: new FakeAuditStore() },
      clock: new FakeClock(),
      endpoints: {},
    });

  it("is not fooled by entries appended while it reads (the tenant's own traffic)", async () => {
    const store = new FakeAuditStore();
    const first = chainEntries(undefined, [auditEntry(1), auditEntry(2)]);
    await store.append('ten_A', first.events, first.head, 0);
    // The audit queue appends once between any two of verification's reads, whatever their order.
    let n = 2;
    const appendOne = async () => {
      const head = await FakeAuditStore.prototype.head.call(store, 'ten_A');
      n += 1;
      const next = chainEntries(head, [auditEntry(n)]);
      await store.append('ten_A', next.events, next.head, head?.seq ?? 0);
    };
    const { head, all } = { head: store.head.bind(store), all: store.all.bind(store) };
    store.head = async (tenantId: string) => {
      const read = await head(tenantId);
      await appendOne();
      return read;
    };
    store.all = async (tenantId: string) => {
      const read = await all(tenantId);
      await appendOne();
      return read;
    };
    const verification = await trailOf(store).verify('ten_A', undefined, {}, 'global');
    expect(verification).toMatchObject({ intact: true, firstSeq: 1 });
    expect(verification.broken).toBeUndefined();
    expect(verification.lastSeq).toBe(verification.headSeq);
  });

  it('still reports a deleted tail as a head mismatch', async () => {
    const store = new FakeAuditStore();
    const chained = chainEntries(undefined, [auditEntry(1), auditEntry(2), auditEntry(3)]);
    await store.append('ten_A', chained.events, chained.head, 0);
    store.events.pop();
    const verification = await trailOf(store).verify('ten_A', undefined, {}, 'global');
    expect(verification).toMatchObject({ intact: false, broken: { seq: 3, reason: 'head_mismatch' } });
  });
});
