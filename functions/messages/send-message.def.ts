import { defineFunction, ownAndGlobalFromEu, tenantRoute } from '#layers/declaration.ts';

/** The two send routes (one message, a batch): the same data, keys and queues. */
export function sendRoute<const N extends string>(name: N, description: string) {
  return defineFunction({
    ...tenantRoute({
      name,
      relaysToEu: true,
      tenantScoped: true,
      // The block list (by recipient pseudonym, every tenant's) and the gateway-wide usage counters.
      gatewayWide: { messages: { read: ['BLOCK#*'], write: ['usage#*'] } },
      description,
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
    name,
  });
}

/** Accepts one message: encrypts and stores it in its recipient's jurisdiction and queues it. */
export const declaration = sendRoute('send-message', 'POST /v1/messages');
