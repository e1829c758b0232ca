import { defineFunction, ownAndGlobalFromEu, tenantRoute } from '#layers/declaration.ts';

/** Reads messages and decrypts them: unwraps data keys, never wraps. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'get-message',
    relaysToEu: true,
    tenantScoped: true,
    description: 'GET /v1/messages',
    settings: ['GLOBAL_API_URL', 'EU_API_URL'],
    needs: ownAndGlobalFromEu({ messages: 'read', tenantKeys: 'read' }),
  }),
  name: 'get-message',
});
