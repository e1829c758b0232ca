import { bothJurisdictions, defineFunction, tenantRoute } from '#layers/declaration.ts';

/** Sender ID applications: identity details sealed under the tenant's key. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'sender-ids',
    description: '/v1/sender-ids',
    settings: ['SENDER_IDENTITY_DAYS'],
    needs: bothJurisdictions({ messages: 'readWrite', tenantKeys: 'write' }),
  }),
  name: 'sender-ids',
});
