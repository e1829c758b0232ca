import { ValidationError } from '#layers/core/errors.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import {
  days,
  type Period,
  periodProblem,
  priceOf,
  roundUsd,
  USAGE_STATUSES,
  type UsageCount,
  type UsageStatus,
} from '#layers/core/usage.ts';
import type { AggregateCell, Clock, UsageLedger } from '#layers/ports/index.ts';

const JURISDICTIONS: Jurisdiction[] = ['global', 'eu'];

export type UsageDimension = 'day' | 'country';

export interface UsageQuery {
  from?: string | undefined;
  to?: string | undefined;
  groupBy: UsageDimension[];
  mode?: 'live' | 'test' | undefined;
}

/** Usage reports cover at most a year and a day; the operator's aggregates a quarter. */
export const MAX_REPORT_DAYS = { tenant: 366, aggregates: 92 } as const;

function period(now: Date, q: Period, maxDays: number) {
  const problem = periodProblem(now, q, maxDays);
  if (problem) {
    throw new ValidationError([
      { parameter: problem.parameter, detail: `${problem.parameter}: ${problem.reason}` },
    ]);
  }
  const { from, to } = days(now, q);
  return { from, to };
}

/**
 * Usage for the tenant's authorised people, and anonymised aggregates for the operator, from the
 * counters the workers keep (see core/usage.ts for what each status counts).
 */
export function makeUsageReports(deps: {
  ledgers: Record<Jurisdiction, UsageLedger>;
  prices: Record<string, number>;
  clock: Clock;
}) {
  /** Only what the carrier was handed, on live keys, costs money (test keys use the sandbox). */
  const costOf = (c: Pick<UsageCount, 'status' | 'mode' | 'country' | 'segments'>) =>
    c.status === 'sent' && c.mode === 'live' ? c.segments * priceOf(deps.prices, c.country) : 0;

  return {
    /**
     * The report of the jurisdictions an endpoint counts: the EU endpoint's covers both regions;
     * the global one's its own region only (it holds no grant on the EU's counters).
     */
    async tenantReport(tenantId: string, q: UsageQuery, endpoint: Jurisdiction) {
      const { from, to } = period(deps.clock.now(), q, MAX_REPORT_DAYS.tenant);
      const jurisdictions = endpoint === 'global' ? (['global'] as Jurisdiction[]) : JURISDICTIONS;
      const counts = (await Promise.all(jurisdictions.map((j) => deps.ledgers[j].tenant(tenantId, from, to))))
        .flat()
        .filter((c) => q.mode === undefined || c.mode === q.mode);
      const rows = new Map<
        string,
        {
          day?: string;
          country?: string;
          mode: UsageCount['mode'];
          status: UsageStatus;
          messages: number;
          segments: number;
          estimatedCostUsd: number;
        }
      >();
      for (const c of counts) {
        const dims = {
          ...(q.groupBy.includes('day') ? { day: c.day } : {}),
          ...(q.groupBy.includes('country') ? { country: c.country } : {}),
          mode: c.mode,
          status: c.status,
        };
        const key = JSON.stringify(dims);
        const row = rows.get(key) ?? { ...dims, messages: 0, segments: 0, estimatedCostUsd: 0 };
        row.messages += c.messages;
        row.segments += c.segments;
        row.estimatedCostUsd += costOf(c);
        rows.set(key, row);
      }
      const data = [...rows.values()]
        .map((r) => ({ ...r, estimatedCostUsd: roundUsd(r.estimatedCostUsd) }))
        .sort(
          (a, b) =>
            (a.day ?? '').localeCompare(b.day ?? '') ||
            (a.country ?? '').localeCompare(b.country ?? '') ||
            a.mode.localeCompare(b.mode) ||
            USAGE_STATUSES.indexOf(a.status) - USAGE_STATUSES.indexOf(b.status),
        );
      return {
        from,
        to,
        groupBy: q.groupBy,
        jurisdictions,
        currency: 'USD' as const,
        data,
        totals: {
          estimatedCostUsd: roundUsd(counts.reduce((sum, c) => sum + costOf(c), 0)),
          // One total per status (USAGE_STATUSES lists them all).
          ...(Object.fromEntries(
            USAGE_STATUSES.map((status) => {
              const of = counts.filter((c) => c.status === status);
              return [
                status,
                {
                  messages: of.reduce((n, c) => n + c.messages, 0),
                  segments: of.reduce((n, c) => n + c.segments, 0),
                },
              ];
            }),
          ) as Record<UsageStatus, { messages: number; segments: number }>),
        },
      };
    },

    /**
     * Counts by day, country and status across all tenants, live traffic only: no tenant, no
     * number. A cell with fewer than `k` messages, or from a single tenant (it would be that
     * tenant's own figure), is left out; only how many were left out is said. The EU endpoint's
     * cover both regions; the global one's its own region only (it holds no grant on the EU's
     * counters).
     */
    async aggregates(
      q: { from?: string | undefined; to?: string | undefined; k: number },
      endpoint: Jurisdiction,
    ) {
      const { from, to } = period(deps.clock.now(), q, MAX_REPORT_DAYS.aggregates);
      const cells = new Map<
        string,
        Omit<AggregateCell, 'tenantIds' | 'severalTenants'> & { tenants: Set<string>; several: boolean }
      >();
      const jurisdictions = endpoint === 'global' ? (['global'] as Jurisdiction[]) : JURISDICTIONS;
      for (const j of jurisdictions) {
        for (const c of await deps.ledgers[j].aggregate(from, to)) {
          const key = `${c.day}|${c.country}|${c.status}`;
          const { tenantIds, severalTenants, ...where } = c;
          const cell = cells.get(key) ?? {
            ...where,
            messages: 0,
            segments: 0,
            tenants: new Set<string>(),
            several: false,
          };
          cell.messages += c.messages;
          cell.segments += c.segments;
          for (const t of tenantIds) cell.tenants.add(t);
          cell.several ||= severalTenants;
          cells.set(key, cell);
        }
      }
      const all = [...cells.values()];
      const shown = all.filter((c) => c.messages >= q.k && (c.several || c.tenants.size >= 2));
      return {
        from,
        to,
        k: q.k,
        jurisdictions,
        data: shown
          .map(({ tenants: _t, several: _s, ...c }) => c)
          .sort(
            (a, b) =>
              a.day.localeCompare(b.day) ||
              a.country.localeCompare(b.country) ||
              USAGE_STATUSES.indexOf(a.status) - USAGE_STATUSES.indexOf(b.status),
          ),
        suppressedCells: all.length - shown.length,
      };
    },
  };
}
