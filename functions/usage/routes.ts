import { problems, type Route } from '#layers/http/route.ts';
import { UsageQuery, UsageReport } from './schemas.ts';

/** The usage capability's routes. */
export const usageRoutes = [
  {
    method: 'GET',
    path: '/v1/usage',
    function: 'usage',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'getUsage',
    summary:
      "Messages and segments by day, country and status, with an estimated cost (JSON or CSV); at the global endpoint, a strict tenant's counts the global region only",
    tags: ['Account'],
    query: UsageQuery,
    responses: {
      200: {
        description: 'The usage report',
        schema: UsageReport,
        text: ['text/csv'],
        headers: ['Content-Disposition'],
      },
      ...problems(401, 403, 422, 429, 503),
    },
  },
] as const satisfies readonly Route[];
