import { describe, expect, it } from 'vitest';
import { makeStatusEvents } from '../../functions/messages/use-cases/status-events.ts';
import { auditSafe, OPERATOR_TRAIL } from '../../layers/core/audit.ts';
import type { StatusChange, UsageCount } from '../../layers/core/usage.ts';
import type { UsageLedger } from '../../layers/ports/index.ts';

const change = (tenantId: string, messageId: string): StatusChange => ({
  tenantId,
  messageId,
  jurisdiction: 'global',
  status: 'sent',
  at: '2026-11-24T10:00:00.000Z',
  mode: 'live',
  country: 'US',
  segments: 1,
});

/**
 * A worker's batch holds several tenants' status changes: each tenant's counters and webhooks are
 * recorded on that tenant's behalf (its scope, hence its tenant-scoped credentials), with its own
 * changes only.
 */
describe("a worker's status changes, tenant by tenant", () => {
  it("counts and notifies each tenant's changes within that tenant's scope only", async () => {
    let scope: string | undefined;
    const written: { scope: string | undefined; tenants: string[] }[] = [];
    const notified: { scope: string | undefined; tenants: string[] }[] = [];
    const ledger: UsageLedger = {
      add: async (counts: UsageCount[]) => {
        written.push({ scope, tenants: counts.map((c) => c.tenantId) });
      },
      tenant: async () => [],
      aggregate: async () => [],
      forgetTenant: async () => 0,
    };
    const events = makeStatusEvents({
      ledgers: () => ledger,
      notify: async (changes) => {
        notified.push({ scope, tenants: changes.map((c) => c.tenantId) });
      },
      onError: () => {},
      asTenant: async (tenantId, work) => {
        scope = tenantId;
        try {
          await work();
        } finally {
          scope = undefined;
        }
      },
    });
    events.changed(change('ten_A', 'msg_1'));
    events.changed(change('ten_B', 'msg_2'));
    events.changed(change('ten_A', 'msg_3'));
    await events.flush();
    expect(written).toEqual([
      { scope: 'ten_A', tenants: ['ten_A'] },
      { scope: 'ten_B', tenants: ['ten_B'] },
    ]);
    expect(notified).toEqual([
      { scope: 'ten_A', tenants: ['ten_A', 'ten_A'] },
      { scope: 'ten_B', tenants: ['ten_B'] },
    ]);
  });

  it("reports a tenant whose scope cannot be entered (its credentials) without failing the others'", async () => {
    const written: string[] = [];
    const errors: string[] = [];
    const events = makeStatusEvents({
      ledgers: () => ({
        add: async (counts: UsageCount[]) => {
          written.push(...counts.map((c) => c.tenantId));
        },
        tenant: async () => [],
        aggregate: async () => [],
        forgetTenant: async () => 0,
      }),
      onError: (what) => errors.push(what),
      asTenant: async (tenantId, work) => {
        if (tenantId === 'ten_B') throw new Error('AssumeRole failed');
        await work();
      },
    });
    events.changed(change('ten_A', 'msg_1'));
    events.changed(change('ten_B', 'msg_2'));
    await expect(events.flush()).resolves.toBeUndefined();
    expect(written).toEqual(['ten_A']);
    expect(errors).toEqual(['usage']);
  });
});

/**
 * The audit recorder chains a trail in its tenant's scope, and a tenant-access role is assumed for
 * tenant ids only (`ten_*`): an entry naming any other well-formed id (an operator's call on
 * `/admin/tenants/msg_...`) would fail every batch it is in, until the batch went to the DLQ with
 * the other tenants' entries. Such a call belongs to the operator's trail.
 */
describe("an audit entry's trail", () => {
  it("is a tenant's only for a tenant id, else the operator's", () => {
    const entry = (tenantId: string) =>
      auditSafe({
        tenantId,
        at: '2026-11-24T10:00:00.000Z',
        actor: { type: 'operator', principal: 'arn:aws:iam::123456789012:user/ops' },
        action: 'getTenant',
        route: 'GET /admin/tenants/{tenantId}',
        targets: [],
        ip: '127.0.0.1',
        userAgent: 'cli',
        outcome: 'failure',
        status: 404,
      }).tenantId;
    expect(entry('ten_01KQ8ZP3V4W5X6Y7Z8A9B0C1D2')).toBe('ten_01KQ8ZP3V4W5X6Y7Z8A9B0C1D2');
    expect(entry('msg_01KQ8ZP3V4W5X6Y7Z8A9B0C1D2')).toBe(OPERATOR_TRAIL);
    expect(entry('key_01KQ8ZP3V4W5X6Y7Z8A9B0C1D2')).toBe(OPERATOR_TRAIL);
  });
});
