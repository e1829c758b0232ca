import { defineFunction } from '#layers/declaration.ts';
import { QUEUES } from '../../infra/resources.ts';

/** Chains the audit queue's entries onto their tenants' trails in this region's table (only). */
export const declaration = defineFunction({
  name: 'record-audit-events',
  description: 'Audit recorder',
  trigger: {
    kind: 'queue',
    queue: 'audit',
    batchSize: QUEUES.audit.batchSize,
    maxBatchingWindowSeconds: QUEUES.audit.maxBatchingWindowSeconds,
    // A FIFO batch is taken whole: a failure retries it in order.
    partialBatchResponses: false,
    // The minimum: one writer per tenant's chain is what the FIFO groups give anyway.
    maxConcurrency: 2,
  },
  timeoutSeconds: QUEUES.audit.consumerTimeoutSeconds,
  settings: ['AUDIT_RETENTION_DAYS'],
  needs: { own: { messages: 'readWrite', audit: 'consume' } },
  // Each tenant's trail through its tenant-access role; the execution role keeps the operator's.
  tenantScoped: true,
  gatewayWide: { messages: { read: ['operator#audit'], write: ['operator#audit'] } },
});
