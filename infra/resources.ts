/**
 * The gateway's stateful resources, described once. The CDK app builds tables and queues from
 * these definitions and the local runtime creates the same ones on DynamoDB Local and the
 * local SQS, so the two ways of running cannot drift apart.
 */
export interface TableDefinition {
  id: string;
  partitionKey: string;
  sortKey: string;
  ttlAttribute: string;
  indexes: IndexDefinition[];
}

export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey: string;
  /**
   * Its partition key values start with the tenant id and `#` (`<tenant>#...`), so a tenant-access
   * role may query it for its own tenant's partitions (`dynamodb:LeadingKeys` on a Query of an
   * index is the index's partition key value).
   */
  tenantPartitioned?: true;
  /** Keys only, or these attributes besides the keys; every attribute when neither is set. */
  keysOnly?: boolean;
  include?: string[];
}

/** An index's projection, as both DynamoDB's API and the CDK name it. */
export function projectionOf(i: IndexDefinition): {
  type: 'KEYS_ONLY' | 'INCLUDE' | 'ALL';
  attributes?: string[];
} {
  if (i.keysOnly) return { type: 'KEYS_ONLY' };
  return i.include ? { type: 'INCLUDE', attributes: i.include } : { type: 'ALL' };
}

export const TABLES = {
  tenants: {
    id: 'Tenants',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: 'expiresAt',
    indexes: [],
  },
  messages: {
    id: 'Messages',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: 'expiresAt',
    indexes: [
      // Sparse, keys only, written once per message: finds a data subject's messages by pseudonym.
      // Its partition key is `<tenant>#<subject pseudonym>`: a tenant's own subjects only.
      {
        name: 'bySubject',
        partitionKey: 'gsi2pk',
        sortKey: 'gsi2sk',
        keysOnly: true,
        tenantPartitioned: true,
      },
      // Sparse, gateway-wide recipient pseudonym: routes replies and answers "who sent me this?"
      // with the sender and time only; no content is projected.
      {
        name: 'byRecipient',
        partitionKey: 'gsi3pk',
        sortKey: 'gsi3sk',
        include: ['tenantId', 'id', 'from', 'createdAt', 'refCode', 'expiresAt'],
      },
    ],
  },
} satisfies Record<string, TableDefinition>;

export interface QueueDefinition {
  id: string;
  /** The consuming function's timeout; the queue's visibility timeout is six times it (AWS guidance). */
  consumerTimeoutSeconds: number;
  maxReceiveCount: number;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  retentionDays: number;
  dlqRetentionDays: number;
  /** FIFO (ordered per message group, exactly-once within five minutes); names end in `.fifo`. */
  fifo?: boolean;
}

export const QUEUES = {
  dispatch: {
    id: 'Dispatch',
    consumerTimeoutSeconds: 30,
    maxReceiveCount: 5,
    batchSize: 10,
    maxBatchingWindowSeconds: 1,
    retentionDays: 4,
    dlqRetentionDays: 14,
  },
  carrierEvents: {
    id: 'CarrierEvents',
    consumerTimeoutSeconds: 15,
    maxReceiveCount: 5,
    batchSize: 10,
    maxBatchingWindowSeconds: 1,
    retentionDays: 4,
    dlqRetentionDays: 14,
  },
  /**
   * Webhook deliveries. Retries wait on the record itself (the worker sets its visibility to the
   * next delay), eight attempts over about a day; receives beyond that are the worker's own
   * failures, dead-lettered by SQS.
   */
  webhooks: {
    id: 'Webhooks',
    consumerTimeoutSeconds: 30,
    maxReceiveCount: 12,
    batchSize: 10,
    maxBatchingWindowSeconds: 1,
    retentionDays: 2,
    dlqRetentionDays: 14,
  },
  /** Audit entries, grouped by tenant: one writer per tenant's chain, in order. */
  audit: {
    id: 'Audit',
    consumerTimeoutSeconds: 15,
    maxReceiveCount: 5,
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    retentionDays: 4,
    dlqRetentionDays: 14,
    fifo: true,
  },
} satisfies Record<string, QueueDefinition>;

export const visibilityTimeoutSeconds = (q: QueueDefinition) => q.consumerTimeoutSeconds * 6;

/** Seconds an API key's authorization is cached (API Gateway's authorizer cache; the local runtime's too). */
export const AUTHORIZER_CACHE_SECONDS = 60;

/** Alias of the gateway's own KMS key, which wraps the API key pepper. */
export const SYSTEM_KEY_ALIAS = 'alias/sms-gateway/system';

/** Periods of the records kept about erasures and closed accounts, and KMS's deletion wait. */
export const RECORDS = {
  /** Point-in-time recovery window of every table (DynamoDB's maximum). */
  backupWindowDays: 35,
  /** A subject erasure's record (reason, time, counts; never the number). */
  erasureRecordDays: 3 * 365,
  /** Billing totals and the audit trail after an account closes (commercial and tax law: 10 years in DE). */
  closedAccountRecordsDays: 10 * 365,
  /** KMS's waiting period before a scheduled key is destroyed: its minimum, to shred soon. */
  keyDeletionDays: 7,
  /** A tenant's usage counters (billing records: the same period as after closure). */
  usageRecordDays: 10 * 365,
  /** The gateway-wide anonymised counters behind the operator's analytics. */
  analyticsDays: 400,
  /** A webhook delivery's history entry (its latest attempt). */
  webhookHistoryDays: 30,
  /** Each audit event, from when it is recorded (13 months: a year's activity and its review). */
  auditTrailDays: 400,
  /** A sender ID application's identity details after the operator's decision. */
  senderIdentityDays: 30,
} as const;

/** The EU jurisdiction's default region. */
export const DEFAULT_EU_REGION = 'eu-central-1';
