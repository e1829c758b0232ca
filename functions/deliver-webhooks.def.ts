import { defineFunction } from '#layers/declaration.ts';
import { QUEUES } from '../infra/resources.ts';

/**
 * Webhook deliveries from this region's queue. A retry is a new copy sent to the same queue; a
 * dead delivery goes to its DLQ. The endpoint and its sealed secrets come from the tenants table,
 * opened under the tenant's global key (its keyring in the global messages table); a reply's
 * content, sealed on the queue, is opened under the tenant's key here, once its reply is found
 * still kept; each attempt's outcome goes to this region's messages table.
 */
export const declaration = defineFunction({
  name: 'deliver-webhooks',
  description: 'Webhook deliveries worker',
  // Each record runs in its tenant's scope (the delivery names it): its history, the reply it
  // carries and the keys that open them are reached with that tenant's credentials only.
  tenantScoped: true,
  trigger: {
    kind: 'queue',
    queue: 'webhooks',
    batchSize: QUEUES.webhooks.batchSize,
    maxBatchingWindowSeconds: QUEUES.webhooks.maxBatchingWindowSeconds,
    partialBatchResponses: true,
    // Receivers are the tenants' servers: a few instances of 10 parallel requests each.
    maxConcurrency: 5,
  },
  timeoutSeconds: QUEUES.webhooks.consumerTimeoutSeconds,
  settings: [
    'WEBHOOK_HISTORY_DAYS',
    'WEBHOOK_TIMEOUT_MS',
    'WEBHOOK_RETRY_SCHEDULE_SECONDS',
    'WEBHOOK_ALLOW_LOOPBACK',
  ],
  needs: {
    // Replies travel sealed under the tenant's key in their jurisdiction (this region's).
    own: { messages: 'readWrite', webhooks: 'consume+send', webhookDlq: 'send', tenantKeys: 'read' },
    global: { messages: 'read', tenantKeys: 'read' },
    tenants: 'read',
  },
});
