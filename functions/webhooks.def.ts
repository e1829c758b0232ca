import { defineFunction, tenantRoute } from '#layers/declaration.ts';

/**
 * The account's webhook endpoints: their signing secrets are sealed under the tenant's global key
 * (the tenants table is global); delivery history is read in both jurisdictions.
 */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'webhooks',
    relaysToEu: true,
    tenantScoped: true,
    description: '/v1/webhooks',
    settings: ['WEBHOOK_ALLOW_LOOPBACK', 'GLOBAL_API_URL', 'EU_API_URL'],
    needs: { global: { messages: 'readWrite', tenantKeys: 'write' } },
  }),
  name: 'webhooks',
});
