import { defineFunction, ownAndGlobalFromEu, tenantRoute } from '#layers/declaration.ts';

/** Accepts up to 1,000 messages, each on its own. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'send-batch',
    relaysToEu: true,
    tenantScoped: true,
    // The block list (by recipient pseudonym, every tenant's) and the gateway-wide usage counters.
    gatewayWide: { messages: { read: ['BLOCK#*'], write: ['usage#*'] } },
    description: 'POST /v1/messages/batch',
    settings: ['USAGE_RETENTION_DAYS', 'ANALYTICS_RETENTION_DAYS', 'GLOBAL_API_URL', 'EU_API_URL'],
    needs: {
      ...ownAndGlobalFromEu({
        messages: 'readWrite',
        dispatch: 'send',
        webhooks: 'send',
        tenantKeys: 'write',
      }),
      // The tenant's monthly counters (its cap) and Idempotency-Key claims.
      tenants: 'readWrite',
    },
  }),
  name: 'send-batch',
});
