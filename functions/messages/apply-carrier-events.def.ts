import { defineFunction } from '#layers/declaration.ts';
import { QUEUES } from '../../infra/resources.ts';
import { TAKES_REPLIES } from './carrier-inbound.def.ts';

/**
 * Carrier events: receipts move messages to their final status; replies are stored (sealed) in
 * the replying person's jurisdiction, keyword answers are queued there, a block-all is confirmed
 * from the gateway's own identity, within the hourly budget of the gateway's own messages (its
 * counters in its own region's messages table, shared with the one-time codes).
 */
export const declaration = defineFunction({
  name: 'apply-carrier-events',
  description: 'Carrier events worker',
  trigger: {
    kind: 'queue',
    queue: 'carrierEvents',
    batchSize: QUEUES.carrierEvents.batchSize,
    maxBatchingWindowSeconds: QUEUES.carrierEvents.maxBatchingWindowSeconds,
    partialBatchResponses: true,
    // Receipts and replies touch DynamoDB only (and, rarely, the carrier): five instances keep up
    // with a short code's 100 MPS of receipts without flooding the tables.
    maxConcurrency: 5,
  },
  timeoutSeconds: QUEUES.carrierEvents.consumerTimeoutSeconds,
  settings: [
    'GATEWAY_ORIGINATION',
    'GATEWAY_MESSAGE_BUDGET',
    'TENANT_SETTINGS_CACHE_SECONDS',
    'USAGE_RETENTION_DAYS',
    'ANALYTICS_RETENTION_DAYS',
  ],
  needs: {
    // Its own region's queue carries its own jurisdiction's events: the global region relays an
    // EU/EEA number's reply to the EU endpoint (carrier-inbound), and each region's carrier reports
    // on its own queue. Only the EU region's worker may reach the other jurisdiction (a global
    // number's reply taken by the EU endpoint): that moves no EU subject's data out.
    otherFromEu: {
      messages: 'readWrite',
      dispatch: 'send',
      webhooks: 'send',
      tenantKeys: 'write',
      sms: true,
    },
    own: {
      messages: 'readWrite',
      dispatch: 'send',
      webhooks: 'send',
      tenantKeys: 'write',
      sms: true,
      carrierEvents: 'consume',
    },
    // A routed tenant's profile, settings and webhook endpoints (its tenant role).
    tenants: 'read',
    systemKey: true,
  },
  // Each receipt and routed reply on its tenant's behalf (its tenant-access role). The execution
  // role keeps what is no tenant's: reply routing's byRecipient look-up (a person's pseudonym),
  // the block list, the gateway's budgets of its own messages and the gateway-wide usage counters.
  tenantScoped: true,
  // (The same as the carrier webhook's, which takes replies too; plus the system secrets: the
  // recipient pseudonym's, made on first use.)
  gatewayWide: TAKES_REPLIES.gatewayWide,
});
