import { DynamoDbAuditStore } from '#layers/adapters/dynamodb-audit-store.ts';
import { dynamodb, messagesTable, perJurisdiction } from '#layers/wiring.ts';

/** The operator's own trail (`operator#audit`): no tenant's data, the execution role's. */
export const operatorAuditStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbAuditStore(dynamodb(j), messagesTable(j)),
);
