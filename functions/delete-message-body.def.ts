import { bothJurisdictions, defineFunction, tenantRoute } from '#layers/declaration.ts';

/** Removes a message's body now. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'delete-message-body',
    description: 'DELETE /v1/messages/{id}/body',
    settings: ['GLOBAL_API_URL', 'EU_API_URL'],
    needs: bothJurisdictions({ messages: 'readWrite', tenantKeys: 'write' }),
  }),
  name: 'delete-message-body',
});
