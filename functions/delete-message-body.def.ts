import { defineFunction, ownAndGlobalFromEu, tenantRoute } from '#layers/declaration.ts';

/** Removes a message's body now: it unwraps data keys to find the message, never wraps. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'delete-message-body',
    relaysToEu: true,
    tenantScoped: true,
    description: 'DELETE /v1/messages/{id}/body',
    settings: ['GLOBAL_API_URL', 'EU_API_URL'],
    needs: ownAndGlobalFromEu({ messages: 'readWrite', tenantKeys: 'read' }),
  }),
  name: 'delete-message-body',
});
