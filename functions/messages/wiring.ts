import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { gatewayBudget, systemSms } from '#functions/public-rights/wiring.ts';
import { makeReceiveInbound } from '#functions/recipients/use-cases/inbound.ts';
import { idempotencyKeyScope } from '#functions/tenants/wiring.ts';
import { DynamoDbSandboxLedger, SandboxCarrier } from '#layers/adapters/sandbox-carrier.ts';
import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { NotFoundError } from '#layers/core/errors.ts';
import type { Jurisdiction, TenantContext } from '#layers/core/model.ts';
import { relaysReadToEu } from '#layers/core/residency.ts';
import { euRelay } from '#layers/http/guards.ts';
import { endpointJurisdiction, type HttpResult } from '#layers/http/handler.ts';
import type { Carrier } from '#layers/ports/index.ts';
import { countStatusEventFailure, logger, tracer } from '#layers/telemetry.ts';
import { inTenantScope, scopedTenant } from '#layers/tenant-scope.ts';
import {
  allStores,
  blockList,
  dispatchQueue,
  dynamodb,
  endpoints,
  jurisdictionConfig,
  messageStore,
  once,
  onDemand,
  ownJurisdiction,
  p,
  perJurisdiction,
  readSetting,
  recipientPseudonyms,
  recipientStore,
  sendPolicy,
  sqs,
  tenantSettings,
  tenantStore,
  usageLedger,
  webhookFanout,
} from '#layers/wiring.ts';
import type { ReadDeps } from './use-cases/read-messages.ts';
import { makeStatusEvents } from './use-cases/status-events.ts';

/**
 * A read of one id here; an id this region did not search (a forward tenant's, which may be the
 * EU's) is asked of the EU API, whose answer is the call's.
 */
export async function hereOrEu(
  event: APIGatewayProxyEventV2,
  tenant: TenantContext,
  read: (endpoint: Jurisdiction) => Promise<HttpResult>,
): Promise<HttpResult> {
  const endpoint = endpointJurisdiction(event, ownJurisdiction());
  try {
    return await read(endpoint);
  } catch (error) {
    if (
      error instanceof NotFoundError &&
      error.notSearched &&
      relaysReadToEu(tenant, endpoint, error.notSearched)
    ) {
      return euRelay()(event);
    }
    throw error;
  }
}

/**
 * What the reads and edits of one message by id (get it, redact its body) stand on: this
 * region's tables only, a forward tenant's EU ids being relayed by `hereOrEu`.
 */
export const byIdDeps = (): ReadDeps => ({
  messages: onDemand(messageStore),
  clock: systemClock,
  endpoints: endpoints(),
  relaysToEu: true,
});

/** An operation on one message by id, answered here or by the EU API (`hereOrEu`), 200 with its result. */
export const onMessageById =
  (act: (tenant: TenantContext, id: string, endpoint: Jurisdiction) => Promise<unknown>) =>
  ({
    params,
    event,
    tenant,
  }: {
    params: { id: string };
    event: APIGatewayProxyEventV2;
    tenant: TenantContext;
  }) =>
    hereOrEu(event, tenant, async (endpoint) => ({
      status: 200,
      body: await act(tenant, params.id, endpoint),
    }));

/**
 * The sandbox carrier: every message locally, and test-mode keys' messages everywhere (they
 * never reach a real handset, whatever carrier the deployment uses).
 */
export const sandboxCarrier = /* @__PURE__ */ perJurisdiction((j) => {
  const ledgerTable = readSetting('SANDBOX_LEDGER_TABLE');
  return new SandboxCarrier({
    sqs: sqs(j),
    eventsQueueUrl: readSetting(`${p(j)}_CARRIER_EVENTS_QUEUE_URL`),
    jurisdiction: j,
    // Optional by design: the ledger exists only in local runs, where nobody's handset is real.
    ledger: ledgerTable ? new DynamoDbSandboxLedger(dynamodb(j), ledgerTable) : undefined,
    mps: readSetting('SANDBOX_CARRIER_MPS'),
  });
});

/** The configured carrier (`CARRIER`): `sandbox`, or `eum` for AWS End User Messaging SMS. */
export const carrier = /* @__PURE__ */ perJurisdiction((j): Carrier => {
  if (readSetting('CARRIER') === 'sandbox') return sandboxCarrier(j);
  const configurationSet = readSetting('EUM_CONFIGURATION_SET');
  if (!configurationSet)
    throw new Error('Invalid configuration: EUM_CONFIGURATION_SET: required when CARRIER=eum');
  const cfg = {
    EUM_CONFIGURATION_SET: configurationSet,
    EUM_MAX_PRICE: readSetting('EUM_MAX_PRICE'),
    EUM_TTL_SECONDS: readSetting('EUM_TTL_SECONDS'),
  };
  // Loaded on the first send: functions that never send do not pay for the EUM client.
  let eum: Promise<Carrier> | undefined;
  const load = () =>
    Promise.all([
      import('@aws-sdk/client-pinpoint-sms-voice-v2'),
      import('#layers/adapters/eum-carrier.ts'),
    ]).then(
      ([sdk, adapter]) =>
        new adapter.EumCarrier(
          tracer.captureAWSv3Client(
            new sdk.PinpointSMSVoiceV2Client({ region: jurisdictionConfig(j).region }),
          ),
          j,
          {
            configurationSetName: cfg.EUM_CONFIGURATION_SET,
            maxPrice: cfg.EUM_MAX_PRICE,
            timeToLiveSeconds: cfg.EUM_TTL_SECONDS,
          },
        ),
    );
  return {
    send: async (req, options) => {
      eum ??= load().catch((error: unknown) => {
        eum = undefined;
        throw error;
      });
      return (await eum).send(req, options);
    },
  };
});

/**
 * A person's reply, handled where it is taken (the carrier webhook, End User Messaging's topic's
 * subscriber) or read from the carrier events queue (the sandbox's, by id). Each jurisdiction's stores are built on
 * first use: the global region's functions hold no EU settings, and refuse an EU subject's reply.
 */
export const receiveInbound = /* @__PURE__ */ once(() =>
  makeReceiveInbound({
    messages: onDemand(messageStore),
    queues: onDemand(dispatchQueue),
    recipients: onDemand(recipientStore),
    blockList: onDemand(blockList),
    pseudonyms: recipientPseudonyms(),
    tenants: tenantStore(),
    settings: tenantSettings,
    systemSms,
    gatewayBudget: gatewayBudget(),
    clock: systemClock,
    onStored: (notice) => webhookFanout().inbound(notice),
    // Routed first (gateway-wide look-ups), then the routed tenant's data on its behalf.
    asTenant: inTenantScope,
  }),
);

/** Status changes of the current unit of work: usage counters and webhooks, flushed by the caller. */
export const statusEvents = /* @__PURE__ */ once(() =>
  makeStatusEvents({
    ledgers: usageLedger,
    notify: (changes) => webhookFanout().statusChanged(changes),
    onError: (what, error) => {
      countStatusEventFailure(what);
      logger.error('status changes not recorded', { what, error: (error as Error)?.name });
    },
    // A worker's batch (outside any request) records each tenant's changes in that tenant's
    // scope; a request keeps its own tenant's scope.
    asTenant: (tenantId, work) => (scopedTenant() === undefined ? inTenantScope(tenantId, work) : work()),
  }),
);

/** What both send functions need: each jurisdiction's stores, the policy, status events. */
export const sendDeps = /* @__PURE__ */ once(() => ({
  stores: allStores(),
  endpoints: endpoints(),
  clock: systemClock,
  ids: ulidIds,
  policy: sendPolicy(),
  events: statusEvents(),
  keyScope: idempotencyKeyScope(),
}));
