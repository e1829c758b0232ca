import { defineFunction } from '#layers/declaration.ts';
import { QUEUES } from '../../infra/resources.ts';

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
    // The bound on instances that share the send rates (`-c sendRates`): each paces at its share,
    // rate / MaximumConcurrency, with no shared state. Raise it with `-c dispatchMaxConcurrency=N`
    // when the rates are more than N instances can keep up with (one instance sends a few hundred
    // messages a second when the carrier answers in tens of milliseconds).
    maxConcurrency: 2,
    maxConcurrencyContext: 'dispatchMaxConcurrency',
  },
  timeoutSeconds: QUEUES.dispatch.consumerTimeoutSeconds,
  settings: [
    'DISPATCH_LEASE_SECONDS',
    'DISPATCH_MAX_RECEIVE_COUNT',
    'DISPATCH_CARRIER_TIMEOUT_SECONDS',
    'DISPATCH_SEND_RATES',
    'DISPATCH_MAX_CONCURRENCY',
    'USAGE_RETENTION_DAYS',
    'ANALYTICS_RETENTION_DAYS',
    'TENANT_SETTINGS_CACHE_SECONDS',
  ],
  needs: {
    own: { messages: 'readWrite', dispatch: 'consume+send', webhooks: 'send', tenantKeys: 'read', sms: true },
    // Webhook endpoints are listed (never opened) to fan status changes out, with the message's
    // tenant's credentials: the execution role keeps nothing of the tenants table.
    tenants: 'read',
  },
  // Each message (claim, send, status, its tenant's counters) on its tenant's behalf, through its
  // tenant-access role; the execution role keeps the gateway-wide usage counters only.
  tenantScoped: true,
  gatewayWide: { messages: { write: ['usage#*'] } },
});
