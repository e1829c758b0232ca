import { describe, expect, it } from 'vitest';
import { makeStatusEvents } from '../../functions/messages/use-cases/status-events.ts';
import { makeUsageReports } from '../../functions/usage/use-cases/usage-reports.ts';
import type { StatusChange } from '../../layers/core/usage.ts';
import { tally, type UsageCount } from '../../layers/core/usage.ts';
import type { AggregateCell, UsageLedger } from '../../layers/ports/index.ts';
import { FakeClock } from '../support/fakes.ts';

/** Keeps counts as the DynamoDB ledger does: summed per key, aggregates of live traffic only. */
class FakeLedger implements UsageLedger {
  counts: UsageCount[] = [];
  fail = false;
  async add(counts: UsageCount[]) {
    if (this.fail) throw new Error('ProvisionedThroughputExceededException');
    this.counts.push(...counts);
  }
  async tenant(tenantId: string, from: string, to: string) {
    return this.counts.filter((c) => c.tenantId === tenantId && c.day >= from && c.day <= to);
  }
  async aggregate(from: string, to: string): Promise<AggregateCell[]> {
    return this.counts
      .filter((c) => c.mode === 'live' && c.day >= from && c.day <= to)
      .map((c) => ({
        day: c.day,
        country: c.country,
        status: c.status,
        messages: c.messages,
        segments: c.segments,
        tenantIds: [c.tenantId],
        severalTenants: false,
      }));
  }
  async forgetTenant() {
    return 0;
  }
}

const change = (overrides: Partial<StatusChange> = {}): StatusChange => ({
  tenantId: 'ten_A',
  messageId: 'msg_1',
  jurisdiction: 'global',
  status: 'sent',
  at: '2026-11-24T10:00:00.000Z',
  mode: 'live',
  country: 'US',
  segments: 2,
  ...overrides,
});

const count = (overrides: Partial<UsageCount>): UsageCount => ({
  tenantId: 'ten_A',
  jurisdiction: 'global',
  day: '2026-11-24',
  country: 'US',
  mode: 'live',
  status: 'sent',
  messages: 1,
  segments: 1,
  ...overrides,
});

describe('usage counting', () => {
  it('sums changes per tenant, jurisdiction, day, country, mode and status', () => {
    const counts = tally([
      change(),
      change({ messageId: 'msg_2', segments: 3 }),
      change({ status: 'delivered' }),
      change({ country: undefined }),
      change({ at: '2026-11-25T00:00:01.000Z' }),
      change({ jurisdiction: 'eu', country: 'DE' }),
      change({ mode: 'test' }),
    ]);
    expect(counts).toHaveLength(6);
    expect(counts[0]).toMatchObject({
      day: '2026-11-24',
      country: 'US',
      status: 'sent',
      messages: 2,
      segments: 5,
    });
    expect(counts.find((c) => c.country === 'ZZ')).toMatchObject({ messages: 1 });
  });

  it('writes one batch of counts per jurisdiction on flush, and never fails the work when a write fails', async () => {
    const ledgers = { global: new FakeLedger(), eu: new FakeLedger() };
    const errors: string[] = [];
    const notified: StatusChange[][] = [];
    const events = makeStatusEvents({
      ledgers: (j) => ledgers[j],
      notify: async (changes) => {
        notified.push(changes);
      },
      onError: (what) => errors.push(what),
    });
    events.changed(change());
    events.changed(change({ jurisdiction: 'eu', country: 'DE' }));
    await events.flush();
    expect(ledgers.global.counts).toHaveLength(1);
    expect(ledgers.eu.counts).toHaveLength(1);
    expect(notified).toEqual([[change(), change({ jurisdiction: 'eu', country: 'DE' })]]);
    await events.flush(); // nothing pending: nothing written twice
    expect(ledgers.global.counts).toHaveLength(1);

    ledgers.global.fail = true;
    events.changed(change());
    await expect(events.flush()).resolves.toBeUndefined();
    expect(errors).toEqual(['usage']);
  });
});

describe('usage reports', () => {
  const setup = () => {
    const ledgers = { global: new FakeLedger(), eu: new FakeLedger() };
    const reports = makeUsageReports({
      ledgers,
      prices: { US: 0.01, DE: 0.1, '*': 0.05 },
      clock: new FakeClock(new Date('2026-11-24T12:00:00Z')),
    });
    return { ledgers, reports };
  };

  it("groups the tenant's counts from both jurisdictions, and estimates cost on live segments handed to the carrier", async () => {
    const { ledgers, reports } = setup();
    ledgers.global.counts.push(
      count({ segments: 10, messages: 5 }),
      count({ status: 'delivered', segments: 8, messages: 4 }),
      count({ day: '2026-11-23', segments: 2, messages: 2 }),
      count({ mode: 'test', segments: 100, messages: 100 }),
      count({ tenantId: 'ten_B', segments: 1000, messages: 1000 }),
      count({ day: '2026-10-31', segments: 7, messages: 7 }),
    );
    ledgers.eu.counts.push(count({ jurisdiction: 'eu', country: 'DE', segments: 3, messages: 3 }));

    const byCountry = await reports.tenantReport('ten_A', { groupBy: ['country'] }, 'eu');
    expect(byCountry.from).toBe('2026-11-01');
    expect(byCountry.to).toBe('2026-11-24');
    expect(byCountry.data).toEqual([
      { country: 'DE', mode: 'live', status: 'sent', messages: 3, segments: 3, estimatedCostUsd: 0.3 },
      { country: 'US', mode: 'live', status: 'sent', messages: 7, segments: 12, estimatedCostUsd: 0.12 },
      { country: 'US', mode: 'live', status: 'delivered', messages: 4, segments: 8, estimatedCostUsd: 0 },
      { country: 'US', mode: 'test', status: 'sent', messages: 100, segments: 100, estimatedCostUsd: 0 },
    ]);
    expect(byCountry.totals).toMatchObject({
      estimatedCostUsd: 0.42,
      sent: { messages: 110, segments: 115 },
      delivered: { messages: 4, segments: 8 },
      failed: { messages: 0, segments: 0 },
    });

    const live = await reports.tenantReport(
      'ten_A',
      {
        groupBy: ['day'],
        mode: 'live',
        from: '2026-10-01',
        to: '2026-11-23',
      },
      'eu',
    );
    expect(live.data.map((r) => [r.day, r.status, r.messages])).toEqual([
      ['2026-10-31', 'sent', 7],
      ['2026-11-23', 'sent', 2],
    ]);
    expect(byCountry.jurisdictions).toEqual(['global', 'eu']);

    // The global endpoint counts its own region only: it holds no grant on the EU's counters.
    const eu = ledgers.eu as unknown as { tenant: unknown };
    eu.tenant = () => {
      throw new Error('the global endpoint read the EU ledger');
    };
    const atGlobal = await reports.tenantReport('ten_A', { groupBy: ['country'] }, 'global');
    expect(atGlobal.jurisdictions).toEqual(['global']);
    expect(atGlobal.data.map((r) => r.country)).not.toContain('DE');
    expect(atGlobal.totals.estimatedCostUsd).toBe(0.12);
  });

  it('refuses a period that ends before it starts or is longer than a year', async () => {
    const { reports } = setup();
    await expect(
      reports.tenantReport('ten_A', { groupBy: [], from: '2026-11-10', to: '2026-11-01' }, 'eu'),
    ).rejects.toMatchObject({
      issues: [{ parameter: 'to' }],
    });
    await expect(
      reports.tenantReport('ten_A', { groupBy: [], from: '2024-01-01', to: '2026-11-01' }, 'eu'),
    ).rejects.toMatchObject({
      issues: [{ parameter: 'from' }],
    });
  });

  it('gives the operator counts with no tenant, suppressing cells under k and cells from one tenant', async () => {
    const { ledgers, reports } = setup();
    ledgers.global.counts.push(
      count({ tenantId: 'ten_A', messages: 6 }),
      count({ tenantId: 'ten_B', messages: 6 }), // US sent: 12 from two tenants: shown
      count({ tenantId: 'ten_A', status: 'failed', messages: 500 }), // one tenant only: hidden
      count({ tenantId: 'ten_A', country: 'GB', messages: 4 }),
      count({ tenantId: 'ten_B', country: 'GB', messages: 5 }), // 9 < k: hidden
      count({ tenantId: 'ten_C', mode: 'test', messages: 50 }), // test traffic: not counted
    );
    ledgers.eu.counts.push(count({ tenantId: 'ten_C', jurisdiction: 'eu', messages: 1 }));
    const out = await reports.aggregates({ k: 10 }, 'eu');
    expect(out.data).toEqual([
      { day: '2026-11-24', country: 'US', status: 'sent', messages: 13, segments: 3 },
    ]);
    expect(out.jurisdictions).toEqual(['global', 'eu']);
    expect(out.suppressedCells).toBe(2);
    expect(JSON.stringify(out)).not.toMatch(/ten_/);
  });

  it('shows a cell its ledger knows only as "first tenant and several": the threshold needs no list of tenants', async () => {
    const { ledgers, reports } = setup();
    const cell = (severalTenants: boolean, country: string): AggregateCell => ({
      day: '2026-11-24',
      country,
      status: 'sent',
      messages: 20,
      segments: 20,
      tenantIds: ['ten_A'],
      severalTenants,
    });
    ledgers.global.aggregate = async () => [cell(true, 'US'), cell(false, 'GB')];
    const out = await reports.aggregates({ k: 10 }, 'global');
    expect(out.data.map((c) => c.country)).toEqual(['US']);
    expect(out.suppressedCells).toBe(1);
  });

  it("counts the global region only at the global endpoint (it reaches none of the EU's counters)", async () => {
    const { ledgers, reports } = setup();
    ledgers.global.counts.push(
      count({ tenantId: 'ten_A', messages: 6 }),
      count({ tenantId: 'ten_B', messages: 6 }),
    );
    ledgers.eu.aggregate = () => Promise.reject(new Error('no grant on the EU ledger'));
    const out = await reports.aggregates({ k: 10 }, 'global');
    expect(out.jurisdictions).toEqual(['global']);
    expect(out.data).toEqual([
      { day: '2026-11-24', country: 'US', status: 'sent', messages: 12, segments: 2 },
    ]);
  });
});
