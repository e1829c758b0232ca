import { defineFunction, ownAndGlobalFromEu, tenantRoute } from '#layers/declaration.ts';

/** The recipient lists: numbers are sealed under the tenant's key in their jurisdiction. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'consents',
    relaysToEu: true,
    tenantScoped: true,
    description: '/v1/consents',
    settings: ['GLOBAL_API_URL', 'EU_API_URL'],
    needs: ownAndGlobalFromEu({ messages: 'readWrite', tenantKeys: 'write' }),
  }),
  name: 'consents',
});
