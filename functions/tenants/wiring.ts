import { DynamoDbIdempotencyKeyScope } from '#layers/adapters/dynamodb-idempotency-store.ts';
import { DynamoDbWebhookHistory } from '#layers/adapters/dynamodb-webhook-store.ts';
import {
  messagesTable,
  once,
  perJurisdiction,
  readSetting,
  systemSecret,
  tenantDynamodb,
  tenantRecordsClient,
} from '#layers/wiring.ts';

/** A tenant's delivery history (`<tenant>#webhooks`): the tenant's credentials in a tenant-scoped function. */
export const webhookHistory = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbWebhookHistory(tenantDynamodb(j), messagesTable(j)),
);

/** Idempotency-Keys' tenant-wide claims, under the recipient pseudonym's system secret, domain-separated ('idempotency'). */
export const idempotencyKeyScope = /* @__PURE__ */ once(
  () =>
    new DynamoDbIdempotencyKeyScope(
      tenantRecordsClient(),
      readSetting('TENANTS_TABLE'),
      systemSecret('recipient-pseudonym'),
    ),
);
