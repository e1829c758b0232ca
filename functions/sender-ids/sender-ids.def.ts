import { defineFunction, ownAndGlobalFromEu, tenantRoute } from '#layers/declaration.ts';

/** Sender ID applications: identity details sealed under the tenant's key. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'sender-ids',
    relaysToEu: true,
    tenantScoped: true,
    description: '/v1/sender-ids',
    settings: ['SENDER_IDENTITY_DAYS', 'GLOBAL_API_URL', 'EU_API_URL'],
    // The tenant's applications and their sealed identity details, in the tenants table.
    needs: { ...ownAndGlobalFromEu({ messages: 'readWrite', tenantKeys: 'write' }), tenants: 'readWrite' },
  }),
  name: 'sender-ids',
});
