import { defineFunction } from '#layers/declaration.ts';
import { QUEUES } from '../../infra/resources.ts';

/**
 * Webhook deliveries from this region's queue. A retry is a new copy sent to the same queue; a
 * dead delivery goes to its DLQ. The endpoint and its sealed secrets come from the tenants table
 * (this region's replica). In the EU region the secrets are opened from their EU copy, under the
 * tenant's EU key; when there is no copy of the endpoint's current revision (written in the
 * global region, or rotated there since), the global copy is opened under the tenant's global key
 * (us-east-1 KMS and keyring, which the EU region may reach) and sealed again as the EU copy, for
 * every later delivery. With us-east-1 down and no current EU copy, the delivery fails as the
 * gateway's own failure and is retried. Elsewhere the global copy is used. A reply's
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
    // In the EU region, webhook secrets' EU copies are sealed under the tenant's EU key.
    ownInEu: { tenantKeys: 'write' },
    global: { messages: 'read', tenantKeys: 'read' },
    // The delivery's tenant's endpoint (its tenant role); in the EU region only, the EU copy of
    // its secrets written beside it (the global region opens the global copy and writes nothing).
    tenants: 'read',
    tenantsInEu: 'readWrite',
  },
});
