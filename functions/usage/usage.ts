import { loadSettings } from '#layers/declaration.ts';
import { toCsv } from '#layers/http/export.ts';
import { euOrHereOperation, tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { usageReports } from '#layers/wiring.ts';
import { declaration } from './usage.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const reports = usageReports();

export const USAGE_COLUMNS = ['day', 'country', 'mode', 'status', 'messages', 'segments', 'estimatedCostUsd'];

/**
 * The account's usage with an estimated cost, for its authorised people (admin-scoped keys): both
 * regions' at the EU endpoint; at the global endpoint, the EU endpoint's report for a forward
 * tenant (relayed: counts, no subject's data), the global region's for a strict one.
 */
export const operations = {
  getUsage: euOrHereOperation<'getUsage'>(
    () => 'eu',
    async ({ query: { format, ...q }, tenant }, endpoint) => {
      const report = await reports.tenantReport(tenant.tenantId, q, endpoint);
      if (format === 'json') return { status: 200, body: report };
      const columns = USAGE_COLUMNS.filter((c) =>
        c === 'day' || c === 'country' ? q.groupBy.includes(c) : true,
      );
      return {
        status: 200,
        text: toCsv(columns, report.data),
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="usage-${report.from}-${report.to}.csv"`,
        },
      };
    },
  ),
} satisfies Operations<'usage'>;

export const handler = operationsHandler('usage', operations, { guards: tenantGuards });
