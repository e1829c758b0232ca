import { defineFunction, ownAndGlobalFromEu, tenantRoute } from '#layers/declaration.ts';

/** Replies from recipients (decrypted). */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'inbound',
    relaysToEu: true,
    description: 'GET /v1/inbound',
    tenantScoped: true,
    settings: ['GLOBAL_API_URL', 'EU_API_URL'],
    needs: ownAndGlobalFromEu({ messages: 'read', tenantKeys: 'read' }),
  }),
  name: 'inbound',
});
