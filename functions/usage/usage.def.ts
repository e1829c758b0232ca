import { defineFunction, tenantRoute } from '#layers/declaration.ts';

/**
 * The account's usage (plain counters: no tenant key). In the global region, a forward tenant's
 * report is the EU API's (it counts both regions); a strict tenant's counts the global region.
 */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'usage',
    relaysToEu: true,
    // Its counters (`<tenant>#usage`, in the messages tables) through its tenant-access role.
    tenantScoped: true,
    description: 'GET /v1/usage',
    settings: ['USAGE_RETENTION_DAYS', 'ANALYTICS_RETENTION_DAYS', 'SMS_PRICES_USD'],
    needs: {},
  }),
  name: 'usage',
});
