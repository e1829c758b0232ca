import { defineFunction, tenantRoute } from '#layers/declaration.ts';

/** The account's usage (plain counters: no tenant key). */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'usage',
    description: 'GET /v1/usage',
    settings: ['USAGE_RETENTION_DAYS', 'ANALYTICS_RETENTION_DAYS', 'SMS_PRICES_USD'],
    needs: {},
  }),
  name: 'usage',
});
