import { defineFunction } from '#layers/declaration.ts';
import { QUEUES } from '../infra/resources.ts';

/**
 * The dispatch worker: claims each message in its own region's table, decrypts it and hands it
 * to the carrier; receipts come back on the carrier events queue, status changes become webhook
 * deliveries and usage counters in the same jurisdiction.
 */
export const declaration = defineFunction({
  name: 'dispatch-messages',
  description: 'Dispatch worker',
  trigger: {
    kind: 'queue',
    queue: 'dispatch',
    batchSize: QUEUES.dispatch.batchSize,
    maxBatchingWindowSeconds: QUEUES.dispatch.maxBatchingWindowSeconds,
    partialBatchResponses: true,
    // Each instance sends its batch of 10 at once, so two instances already pass what a US
    // toll-free number (3 MPS) or a 10DLC number (1 MPS by default) may send, and reach roughly a
    // short code's 100 MPS. Past the origination identity's MPS, EUM throttles and records come
    // back to the queue; raise it with `-c dispatchMaxConcurrency=N` to match the identities' MPS.
    maxConcurrency: 2,
    maxConcurrencyContext: 'dispatchMaxConcurrency',
  },
  timeoutSeconds: QUEUES.dispatch.consumerTimeoutSeconds,
  settings: [
    'DISPATCH_LEASE_SECONDS',
    'DISPATCH_MAX_RECEIVE_COUNT',
    'DISPATCH_CARRIER_TIMEOUT_SECONDS',
    'USAGE_RETENTION_DAYS',
    'ANALYTICS_RETENTION_DAYS',
    'TENANT_SETTINGS_CACHE_SECONDS',
  ],
  needs: {
    own: { messages: 'readWrite', dispatch: 'consume', webhooks: 'send', tenantKeys: 'read', sms: true },
    // Webhook endpoints are listed (never opened) to fan status changes out.
    tenants: 'read',
  },
});
