import { defineFunction, tenantRoute } from '#layers/declaration.ts';

/**
 * The account's webhook endpoints (items of the tenants table, a global table). Their signing
 * secrets are sealed under the tenant's global key and, by the EU region's instance, also under
 * the tenant's EU key (its own jurisdiction's), so the EU webhook worker needs no global KMS; an
 * endpoint written in the global region gets its EU copy from that worker. Delivery history is
 * read in both jurisdictions.
 */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'webhooks',
    relaysToEu: true,
    tenantScoped: true,
    description: '/v1/webhooks',
    settings: ['WEBHOOK_ALLOW_LOOPBACK', 'GLOBAL_API_URL', 'EU_API_URL'],
    needs: {
      global: { messages: 'readWrite', tenantKeys: 'write' },
      // The secrets' EU copy, sealed by the EU region's instance under the tenant's EU key.
      ownInEu: { messages: 'readWrite', tenantKeys: 'write' },
      // The endpoints and their sealed secrets, under the tenant in the tenants table.
      tenants: 'readWrite',
    },
  }),
  name: 'webhooks',
});
