import { carrier } from '#functions/messages/wiring.ts';
import { DynamoDbBudgetCounters } from '#layers/adapters/dynamodb-budget-counters.ts';
import { DynamoDbCounters } from '#layers/adapters/dynamodb-controls-store.ts';
import { DynamoDbVerificationStore } from '#layers/adapters/dynamodb-recipient-store.ts';
import { systemClock } from '#layers/adapters/system.ts';
import { makeGatewayBudget } from '#layers/core/gateway-budget.ts';
import { originationFor } from '#layers/core/origination.ts';
import type { SystemSms } from '#layers/ports/index.ts';
import { countGatewayBudgetSpent } from '#layers/telemetry.ts';
import {
  dynamodb,
  messagesTable,
  once,
  ownJurisdiction,
  perJurisdiction,
  readSetting,
} from '#layers/wiring.ts';

export const verificationStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbVerificationStore(dynamodb(j), messagesTable(j)),
);

/**
 * Rate buckets of the public flows, keyed by a person's number pseudonym or IP address: in the
 * messages table of the region that took the request, so an EU subject's leave nothing in the
 * global region.
 */
export const ownRegionCounters = /* @__PURE__ */ once(
  () => new DynamoDbCounters(dynamodb(ownJurisdiction()), messagesTable(ownJurisdiction())),
);

/**
 * This hour's budgets of the gateway's own messages (GATEWAY_MESSAGE_BUDGET), counted in the
 * messages table of the region that took the request; a spent budget is a metric (alarmed).
 */
export const gatewayBudget = /* @__PURE__ */ once(() =>
  makeGatewayBudget({
    counters: new DynamoDbBudgetCounters(dynamodb(ownJurisdiction()), messagesTable(ownJurisdiction())),
    budget: readSetting('GATEWAY_MESSAGE_BUDGET'),
    clock: systemClock,
    spent: countGatewayBudgetSpent,
  }),
);

/** The gateway's own origination identities (GATEWAY_ORIGINATION), parsed at first use. */
const origination = /* @__PURE__ */ once(() => readSetting('GATEWAY_ORIGINATION'));

/**
 * A message on the gateway's own behalf (one-time codes, block-all confirmations): no tenant, not
 * stored. It goes out from `from` when the flow names one (a reply from the number the person
 * wrote to), else from the gateway's identity for the recipient's country in that jurisdiction.
 */
export const systemSms: SystemSms = async (j, to, from, body, id) => {
  const origin = from ?? originationFor(origination(), j, to);
  await carrier(j).send({
    messageId: id,
    tenantId: 'system',
    to,
    from: origin,
    body,
    category: 'transactional',
  });
};
