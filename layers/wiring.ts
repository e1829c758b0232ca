import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { makeAuditTrail } from '#functions/audit/use-cases/audit-trail.ts';
import { relaysReadToEu } from '#functions/messages/use-cases/read-messages.ts';
import {
  makeSendPolicy,
  settingsOf,
  type TenantSettings,
} from '#functions/messages/use-cases/send-policy.ts';
import { makeStatusEvents } from '#functions/messages/use-cases/status-events.ts';
import { makeReceiveInbound } from '#functions/recipients/use-cases/inbound.ts';
import { makeRecipientLists } from '#functions/recipients/use-cases/recipient-lists.ts';
import { makeSenderIds } from '#functions/sender-ids/use-cases/sender-ids.ts';
import { makeTenantAdmin } from '#functions/tenants/use-cases/manage-tenants.ts';
import { makeUsageReports } from '#functions/usage/use-cases/usage-reports.ts';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '#functions/webhooks/model.ts';
import {
  makeDeliverWebhook,
  makeWebhookEndpoints,
  makeWebhookFanout,
} from '#functions/webhooks/use-cases/webhooks.ts';
import { DynamoDbAuditStore } from './adapters/dynamodb-audit-store.ts';
import { DynamoDbBudgetCounters } from './adapters/dynamodb-budget-counters.ts';
import { DynamoDbCounters, DynamoDbSenderIdStore } from './adapters/dynamodb-controls-store.ts';
import {
  DynamoDbIdempotencyKeyScope,
  DynamoDbIdempotencyStore,
} from './adapters/dynamodb-idempotency-store.ts';
import { DynamoDbKeyringStore } from './adapters/dynamodb-keyring-store.ts';
import { DynamoDbMessageStore } from './adapters/dynamodb-message-store.ts';
import {
  DynamoDbBlockList,
  DynamoDbRecipientStore,
  DynamoDbVerificationStore,
} from './adapters/dynamodb-recipient-store.ts';
import { DynamoDbSecretStore, DynamoDbTenantStore } from './adapters/dynamodb-tenant-store.ts';
import { DynamoDbUsageLedger } from './adapters/dynamodb-usage-ledger.ts';
import { DynamoDbWebhookHistory, DynamoDbWebhookStore } from './adapters/dynamodb-webhook-store.ts';
import { HttpsWebhookTransport } from './adapters/https-webhook-transport.ts';
import { KmsKeyService } from './adapters/kms-key-service.ts';
import { DynamoDbSandboxLedger, SandboxCarrier } from './adapters/sandbox-carrier.ts';
import { SqsAuditSink } from './adapters/sqs-audit-sink.ts';
import { SqsDispatchQueue } from './adapters/sqs-dispatch-queue.ts';
import { SqsWebhookQueue } from './adapters/sqs-webhook-queue.ts';
import { perTenantClient, STSClient, tenantCredentials } from './adapters/sts-tenant-credentials.ts';
import { systemClock, ulidIds } from './adapters/system.ts';
import { declaresSetting, envPrefix, loadConfig } from './config.ts';
import { TenantCrypto } from './core/crypto.ts';
import { NotFoundError, RateLimitedError } from './core/errors.ts';
import { makeGatewayBudget } from './core/gateway-budget.ts';
import type { Jurisdiction, TenantContext } from './core/model.ts';
import { originationFor } from './core/origination.ts';
import { RecipientPseudonyms } from './core/recipient-pseudonym.ts';
import { loadRegionalSystemSecret, loadSystemSecret, memo } from './core/system-secrets.ts';
import { DEFAULT_PRICES_USD } from './core/usage.ts';
import { reachesTenantsTableAsTenant } from './declaration.ts';
import { endpointJurisdiction, type HttpResult, type RouteGuards } from './http/handler.ts';
import { makeRelay } from './http/relay.ts';
import type { Carrier, SystemSms } from './ports/index.ts';
import { present } from './present.ts';
import { type SettingName, type SettingValue, settingSpec } from './settings.ts';
import {
  countAuditFailure,
  countGatewayBudgetSpent,
  countKmsError,
  countStatusEventFailure,
  logger,
  tracer,
} from './telemetry.ts';
import { inTenantScope, scopedTenant } from './tenant-scope.ts';

/**
 * (Each top-level `once`/`perJurisdiction` call is marked pure, so that esbuild drops the ones a
 * function never uses, with what only they import: the EUM client stays out of every bundle
 * but the three that send.)
 *
 * Composition root shared by the functions: each client and adapter is built once per process
 * (cold start) on first use, so a function pays only for what it touches.
 *
 * Every function can reach both jurisdictions: a message goes to its recipient's jurisdiction
 * (its region's table, queue and the tenant's key there), whichever region took the request.
 * Settings per jurisdiction are prefixed `GLOBAL_` or `EU_`.
 */
const once = <T>(make: () => T) => {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
};

/**
 * One setting, parsed with its catalogue schema (layers/settings.ts). Once the running function
 * registered its declaration, a setting it does not declare is refused.
 */
export const readSetting = <N extends SettingName>(name: N): SettingValue<N> =>
  (loadConfig({ [name]: settingSpec(name).schema }) as Record<string, unknown>)[name] as SettingValue<N>;

const p = envPrefix;
function jurisdictionConfig(j: Jurisdiction) {
  return { region: readSetting(`${p(j)}_REGION`) };
}

const perJurisdiction = <T>(make: (j: Jurisdiction) => T) => {
  const made: Partial<Record<Jurisdiction, T>> = {};
  return (j: Jurisdiction): T => {
    made[j] ??= make(j);
    return made[j];
  };
};

/** A DynamoDB client of a region: the execution role's credentials unless given. */
const newDynamodb = (region: string, credentials?: AwsCredentialIdentityProvider) =>
  tracer.captureAWSv3Client(new DynamoDBClient({ region, ...(credentials ? { credentials } : {}) }));
export const dynamodb = /* @__PURE__ */ perJurisdiction((j) => newDynamodb(jurisdictionConfig(j).region));
export const sqs = /* @__PURE__ */ perJurisdiction((j) =>
  tracer.captureAWSv3Client(new SQSClient({ region: jurisdictionConfig(j).region })),
);
/** KMS clients count their failed calls (KmsErrors metric) for the KMS alarm. */
const countingErrors = (client: KMSClient) => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        countKmsError((error as Error)?.name ?? 'Error', context.commandName);
        throw error;
      }
    },
    { step: 'initialize', name: 'countKmsErrors' },
  );
  return client;
};
/** A KMS client of a region, counting its failures: the execution role's credentials unless given. */
const newKms = (region: string, credentials?: AwsCredentialIdentityProvider) =>
  countingErrors(
    tracer.captureAWSv3Client(new KMSClient({ region, ...(credentials ? { credentials } : {}) })),
  );
const kms = /* @__PURE__ */ perJurisdiction((j) => newKms(jurisdictionConfig(j).region));

/**
 * A tenant-scoped function's credentials for one tenant (its tenant-access role, assumed with the
 * tenant's session tag); undefined for a function whose declaration is not tenant-scoped.
 */
const tenantCredentialsOf = /* @__PURE__ */ once(() => {
  if (!declaresSetting('TENANT_ACCESS_ROLE_ARN')) return undefined;
  return tenantCredentials({
    roleArn: readSetting('TENANT_ACCESS_ROLE_ARN'),
    // The execution role's own credentials (the Lambda environment's), as every other client uses.
    sts: tracer.captureAWSv3Client(
      new STSClient({ region: jurisdictionConfig(ownJurisdiction()).region, credentials: defaultProvider() }),
    ),
  });
});

/**
 * The clients that reach tenant data (messages tables, tenant keys): in a tenant-scoped function,
 * each call goes with the credentials of the tenant whose request runs (`layers/tenant-scope.ts`),
 * so IAM itself refuses another tenant's item or key; elsewhere, the execution role's.
 */
const tenantScoped = <C extends DynamoDBClient | KMSClient>(
  plain: (j: Jurisdiction) => C,
  make: (region: string, credentials: AwsCredentialIdentityProvider) => C,
) =>
  perJurisdiction((j) => {
    const credentialsOf = tenantCredentialsOf();
    if (!credentialsOf) return plain(j);
    const region = jurisdictionConfig(j).region;
    return perTenantClient((credentials) => make(region, credentials), credentialsOf);
  });
const tenantDynamodb = /* @__PURE__ */ tenantScoped(dynamodb, newDynamodb);
const tenantKms = /* @__PURE__ */ tenantScoped(kms, newKms);

export const keyService = /* @__PURE__ */ perJurisdiction(
  (j) => new KmsKeyService(tenantKms(j), readSetting('ACCOUNT_ID')),
);

const messagesTable = (j: Jurisdiction) => readSetting(`${p(j)}_MESSAGES_TABLE`);

export const keyringStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbKeyringStore(tenantDynamodb(j), messagesTable(j)),
);

/**
 * A jurisdiction's tenant crypto. Its key service and keyring store are built on first use, so a
 * function that only holds one (e.g. the webhook store, for listing endpoints) reads nothing of
 * that jurisdiction until it seals or opens.
 */
export const tenantCrypto = /* @__PURE__ */ perJurisdiction(
  (j) =>
    new TenantCrypto(j, {
      get keys() {
        return keyService(j);
      },
      get keyrings() {
        return keyringStore(j);
      },
      clock: systemClock,
    }),
);
export const messageStore = /* @__PURE__ */ perJurisdiction(
  (j) =>
    new DynamoDbMessageStore(
      tenantDynamodb(j),
      messagesTable(j),
      tenantCrypto(j),
      recipientPseudonyms(),
      // Reply routing's byRecipient look-up is gateway-wide: the execution role's.
      dynamodb(j),
    ),
);
export const recipientStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbRecipientStore(tenantDynamodb(j), messagesTable(j), tenantCrypto(j)),
);
/** Gateway-wide (`BLOCK#<pseudonym>`): the execution role's, never a tenant session's. */
export const blockList = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbBlockList(dynamodb(j), messagesTable(j)),
);
export const verificationStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbVerificationStore(dynamodb(j), messagesTable(j)),
);
/** A tenant's Idempotency-Key records sit in its own partition: tenant data. */
export const idempotencyStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbIdempotencyStore(tenantDynamodb(j), messagesTable(j), tenantCrypto(j)),
);
export const dispatchQueue = /* @__PURE__ */ perJurisdiction(
  (j) => new SqsDispatchQueue(sqs(j), readSetting(`${p(j)}_DISPATCH_QUEUE_URL`)),
);

/** One of each, for both jurisdictions, e.g. `both(messageStore)`. */
export const both = <T>(make: (j: Jurisdiction) => T): Record<Jurisdiction, T> => ({
  global: make('global'),
  eu: make('eu'),
});

/**
 * One of each, built on first use: a function that declared only its own jurisdiction's
 * resources reads the other's settings only if it is handed the other's work (and then fails).
 */
export const onDemand = <T>(make: (j: Jurisdiction) => T): Record<Jurisdiction, T> => ({
  get global() {
    return make('global');
  },
  get eu() {
    return make('eu');
  },
});

/** The ingress view of both jurisdictions: each one's table and queue. */
export const allStores = /* @__PURE__ */ once(() =>
  onDemand((j) => ({ messages: messageStore(j), idempotency: idempotencyStore(j), queue: dispatchQueue(j) })),
);

/** Each jurisdiction's public endpoint, when configured (named in 421 answers). */
export const endpoints = /* @__PURE__ */ once(() => {
  const global = readSetting('GLOBAL_API_URL');
  const eu = readSetting('EU_API_URL');
  return { ...(global ? { global } : {}), ...(eu ? { eu } : {}) };
});

/** Forward residency: the EU region's API, where the global region relays EU requests as they came. */
export const euRelay = /* @__PURE__ */ once(() => makeRelay({ url: readSetting('EU_RELAY_URL') }));

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
 * Work on one jurisdiction's data (`wanted`: a number's, or the list asked for): a forward
 * tenant's EU data at the global endpoint is the EU API's to answer, relayed as it came;
 * anything else is done here (where the use case answers a strict tenant's EU data 421).
 */
export async function euOrHere(
  event: APIGatewayProxyEventV2,
  tenant: TenantContext,
  wanted: Jurisdiction | undefined,
  here: (endpoint: Jurisdiction) => Promise<HttpResult>,
): Promise<HttpResult> {
  const endpoint = endpointJurisdiction(event, ownJurisdiction());
  if (wanted && relaysReadToEu(tenant, endpoint, wanted)) return euRelay()(event);
  return here(endpoint);
}

/**
 * The tenants table is a DynamoDB global table: each region reads and writes its own replica
 * (TENANTS_REGION is the function's own region), so no request waits on the other region.
 */
const tenantsClient = /* @__PURE__ */ once(() => newDynamodb(readSetting('TENANTS_REGION')));
const tenantsKms = /* @__PURE__ */ once(() => newKms(readSetting('TENANTS_REGION')));
/**
 * The tenants table's client for the tenant's items (profile, controls, replies, API key records,
 * sender IDs, webhook endpoints, monthly counters, Idempotency-Key claims): the request's
 * tenant's credentials in a tenant-scoped function, so IAM refuses another tenant's item; the
 * execution role's elsewhere (the authorizer, the admin function, the public flows). The
 * gateway-wide items (rate buckets, system secrets) always go with `tenantsClient`.
 */
const tenantRecordsClient = /* @__PURE__ */ once(() => {
  const credentialsOf = tenantCredentialsOf();
  if (!credentialsOf || !reachesTenantsTableAsTenant()) return tenantsClient();
  const region = readSetting('TENANTS_REGION');
  return perTenantClient((credentials) => newDynamodb(region, credentials), credentialsOf);
});
export const tenantStore = /* @__PURE__ */ once(
  () => new DynamoDbTenantStore(tenantRecordsClient(), readSetting('TENANTS_TABLE')),
);

export const secretStore = /* @__PURE__ */ once(
  () => new DynamoDbSecretStore(tenantsClient(), readSetting('TENANTS_TABLE')),
);

/**
 * The system secrets: made under the global region's system key; the EU region keeps its own
 * copy under its own system key (made once, with one call to the global region's KMS).
 */
const systemSecret = (name: 'api-key-pepper' | 'recipient-pseudonym') =>
  memo(async () => {
    const own = {
      keys: new KmsKeyService(tenantsKms()),
      secrets: secretStore(),
      keyId: readSetting('SYSTEM_KEY_ID'),
    };
    if (ownJurisdiction() === 'global') return loadSystemSecret(own, name);
    const sourceKey = readSetting('SYSTEM_SECRETS_SOURCE_KEY_ARN');
    const sourceRegion = present(sourceKey.split(':')[3], `the region of ${sourceKey}`);
    const source = {
      keys: new KmsKeyService(newKms(sourceRegion)),
      keyId: sourceKey,
    };
    return loadRegionalSystemSecret({ ...own, source, region: readSetting('TENANTS_REGION') }, name);
  });

export const pepper = /* @__PURE__ */ systemSecret('api-key-pepper');

/** The gateway-wide recipient pseudonym (block list, reply routing, "who sent me this?"). */
export const recipientPseudonyms = /* @__PURE__ */ once(
  () => new RecipientPseudonyms(systemSecret('recipient-pseudonym')),
);

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
    Promise.all([import('@aws-sdk/client-pinpoint-sms-voice-v2'), import('./adapters/eum-carrier.ts')]).then(
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

/** The function's own jurisdiction (`endpointJurisdiction` lets an API stage variable override it). */
export const ownJurisdiction = /* @__PURE__ */ once(() => readSetting('JURISDICTION'));

export const counters = /* @__PURE__ */ once(
  () =>
    new DynamoDbCounters(
      tenantsClient(),
      readSetting('TENANTS_TABLE'),
      { own: readSetting('TENANTS_REGION'), all: readSetting('TENANTS_REPLICA_REGIONS') },
      // Rate buckets are gateway-wide (the execution role's); a tenant's monthly counters its own.
      tenantRecordsClient(),
    ),
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
export const senderIdStore = /* @__PURE__ */ once(
  () => new DynamoDbSenderIdStore(tenantRecordsClient(), readSetting('TENANTS_TABLE')),
);

const settingsTtlMs = /* @__PURE__ */ once(() => readSetting('TENANT_SETTINGS_CACHE_SECONDS') * 1000);

/** A per-tenant read cached per instance for `TENANT_SETTINGS_CACHE_SECONDS`; a failed read is not kept. */
function cachedPerTenant<T>(load: (tenantId: string) => Promise<T>): (tenantId: string) => Promise<T> {
  const cache = new Map<string, { at: number; value: Promise<T> }>();
  return (tenantId) => {
    const hit = cache.get(tenantId);
    if (hit && Date.now() - hit.at < settingsTtlMs()) return hit.value;
    const value = load(tenantId);
    value.catch(() => cache.delete(tenantId));
    cache.set(tenantId, { at: Date.now(), value });
    return value;
  };
}

/**
 * A tenant's controls and replies, cached per instance for a minute like the authorizer's
 * answer: an operator's change applies within a minute.
 */
export const tenantSettings = cachedPerTenant(
  (tenantId): Promise<TenantSettings> =>
    tenantStore()
      .getTenant(tenantId)
      .then((t) => settingsOf(t)),
);

export const sendPolicy = /* @__PURE__ */ once(() =>
  makeSendPolicy({
    // Built on first use: a global-region function that relays the EU's work has no EU settings.
    recipients: onDemand(recipientStore),
    blockList: onDemand(blockList),
    pseudonyms: recipientPseudonyms(),
    senderIds: senderIdStore(),
    counters: counters(),
    settings: tenantSettings,
    clock: systemClock,
  }),
);

/** Every tenant route's request rate limit: 429 with Retry-After past it. */
async function admitTenant(tenant: TenantContext): Promise<void> {
  const out = await sendPolicy().admit(tenant);
  if (!out.ok) throw new RateLimitedError(out.retryAfterSeconds);
}

/** A tenant's trail is tenant data (`<tenant>#audit`): the tenant's credentials in a tenant-scoped function. */
export const auditStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbAuditStore(tenantDynamodb(j), messagesTable(j)),
);
/** The operator's own trail (`operator#audit`): no tenant's data, the execution role's. */
export const operatorAuditStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbAuditStore(dynamodb(j), messagesTable(j)),
);
const auditSink = /* @__PURE__ */ perJurisdiction(
  (j) => new SqsAuditSink(sqs(j), readSetting(`${p(j)}_AUDIT_QUEUE_URL`)),
);

/**
 * Hands a call's audit entry to the audit queue of the jurisdiction of the data it touched (the
 * endpoint's when the answer does not say). A
 * failure does not fail the call (its work is done); it is logged and counted (AuditFailures,
 * alarmed).
 */
export const recordAudit: NonNullable<RouteGuards['audit']> = async (input, event) => {
  const { dataJurisdiction, ...entry } = input;
  const jurisdiction = dataJurisdiction ?? endpointJurisdiction(event, ownJurisdiction());
  try {
    await auditSink(jurisdiction).record({ ...entry, id: ulidIds.next('aud'), jurisdiction });
  } catch (error) {
    countAuditFailure();
    logger.error('audit entry not recorded', { action: entry.action, error: (error as Error)?.name });
  }
};

/** What every tenant route runs around its work: the rate limit and the audit trail. */
export const tenantGuards: RouteGuards = { admit: admitTenant, audit: recordAudit };

export const auditTrail = /* @__PURE__ */ once(() =>
  // Built on first use: a global-region tenant route reads its own region's trail only.
  makeAuditTrail({ stores: onDemand(auditStore), clock: systemClock, endpoints: endpoints() }),
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

/** Use cases more than one function serves, composed once per process. */
export const tenantAdmin = /* @__PURE__ */ once(() =>
  makeTenantAdmin({
    tenants: tenantStore(),
    ids: ulidIds,
    clock: systemClock,
    pepper,
    createTenantKey: (tenantId, j) => tenantCrypto(j).ensureTenantKey(tenantId),
  }),
);

export const senderIds = /* @__PURE__ */ once(() =>
  makeSenderIds({
    senderIds: senderIdStore(),
    tenants: tenantStore(),
    crypto: tenantCrypto,
    clock: systemClock,
    ids: ulidIds,
    identityRetentionDays: readSetting('SENDER_IDENTITY_DAYS'),
    endpoints: endpoints(),
  }),
);

export const recipientLists = /* @__PURE__ */ once(() =>
  makeRecipientLists({
    // Built on first use: at the global endpoint, the EU's lists are the EU API's (relayed).
    recipients: onDemand(recipientStore),
    clock: systemClock,
    ids: ulidIds,
    endpoints: endpoints(),
    relaysToEu: true,
  }),
);

/** A tenant's counters are tenant data; the gateway-wide ones (no tenant's partition) the execution role's. */
export const usageLedger = /* @__PURE__ */ perJurisdiction((j) => {
  return new DynamoDbUsageLedger(
    tenantDynamodb(j),
    messagesTable(j),
    j,
    {
      tenantDays: readSetting('USAGE_RETENTION_DAYS'),
      aggregateDays: readSetting('ANALYTICS_RETENTION_DAYS'),
    },
    dynamodb(j),
  );
});

/**
 * Endpoints and their secrets: the global copy everywhere; in the EU region also the EU copy, so
 * its webhook worker opens a secret with the EU region's KMS only.
 */
export const webhookStore = /* @__PURE__ */ once(
  () =>
    new DynamoDbWebhookStore(
      tenantRecordsClient(),
      readSetting('TENANTS_TABLE'),
      tenantCrypto('global'),
      ownJurisdiction() === 'eu' ? tenantCrypto('eu') : undefined,
    ),
);
/** A tenant's delivery history (`<tenant>#webhooks`): the tenant's credentials in a tenant-scoped function. */
export const webhookHistory = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbWebhookHistory(tenantDynamodb(j), messagesTable(j)),
);
const webhookQueue = /* @__PURE__ */ perJurisdiction(
  (j) => new SqsWebhookQueue(sqs(j), readSetting(`${p(j)}_WEBHOOK_QUEUE_URL`)),
);
/** Only the local runtime and tests may deliver to this machine (loopback); never set in AWS. */
const allowLoopbackWebhooks = () => readSetting('WEBHOOK_ALLOW_LOOPBACK');

/** A tenant's endpoints, cached per instance like its settings: a new endpoint gets events within a minute. */
const endpointsOf = cachedPerTenant((tenantId) => webhookStore().list(tenantId));

export const webhookFanout = /* @__PURE__ */ once(() =>
  makeWebhookFanout({
    endpointsOf,
    queue: webhookQueue,
    crypto: tenantCrypto,
    ids: ulidIds,
    clock: systemClock,
  }),
);

export const webhookEndpoints = /* @__PURE__ */ once(() =>
  makeWebhookEndpoints({
    store: webhookStore(),
    history: onDemand(webhookHistory),
    clock: systemClock,
    ids: ulidIds,
    allowLoopback: allowLoopbackWebhooks(),
  }),
);

export const deliverWebhook = /* @__PURE__ */ perJurisdiction((j) => {
  const cfg = {
    WEBHOOK_RETRY_SCHEDULE_SECONDS: readSetting('WEBHOOK_RETRY_SCHEDULE_SECONDS'),
    WEBHOOK_HISTORY_DAYS: readSetting('WEBHOOK_HISTORY_DAYS'),
    WEBHOOK_TIMEOUT_MS: readSetting('WEBHOOK_TIMEOUT_MS'),
  };
  return makeDeliverWebhook({
    store: webhookStore(),
    history: webhookHistory(j),
    crypto: tenantCrypto(j),
    replies: recipientStore(j),
    transport: new HttpsWebhookTransport({
      timeoutMs: cfg.WEBHOOK_TIMEOUT_MS ?? 10_000,
      allowLoopback: allowLoopbackWebhooks(),
    }),
    clock: systemClock,
    schedule: cfg.WEBHOOK_RETRY_SCHEDULE_SECONDS?.split(',').map(Number) ?? DEFAULT_RETRY_SCHEDULE_SECONDS,
    historyDays: cfg.WEBHOOK_HISTORY_DAYS,
  });
});

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

/** List prices per segment for the usage estimate: the defaults, overridden by `SMS_PRICES_USD`. */
const prices = () => ({ ...DEFAULT_PRICES_USD, ...readSetting('SMS_PRICES_USD') });

export const usageReports = /* @__PURE__ */ once(() =>
  makeUsageReports({ ledgers: onDemand(usageLedger), prices: prices(), clock: systemClock }),
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
