import { defineFunction, tenantRoute } from '#layers/declaration.ts';

/** The account's audit trail (plain entries: no tenant key). */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'audit-events',
    relaysToEu: true,
    tenantScoped: true,
    description: 'GET /v1/audit-events',
    settings: ['GLOBAL_API_URL', 'EU_API_URL'],
    needs: {},
  }),
  name: 'audit-events',
});
