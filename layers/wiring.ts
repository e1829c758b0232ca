import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { makeAuditTrail } from '#functions/audit/use-cases/audit-trail.ts';
import {
  makeSendPolicy,
  settingsOf,
  type TenantSettings,
} from '#functions/messages/use-cases/send-policy.ts';
import { makeSenderIds } from '#functions/sender-ids/use-cases/sender-ids.ts';
import { makeUsageReports } from '#functions/usage/use-cases/usage-reports.ts';
import { makeWebhookFanout } from '#functions/webhooks/use-cases/webhooks.ts';
import { DynamoDbAuditStore } from './adapters/dynamodb-audit-store.ts';
import { DynamoDbCounters, DynamoDbSenderIdStore } from './adapters/dynamodb-controls-store.ts';
import { DynamoDbIdempotencyStore } from './adapters/dynamodb-idempotency-store.ts';
import { DynamoDbKeyringStore } from './adapters/dynamodb-keyring-store.ts';
import { DynamoDbMessageStore } from './adapters/dynamodb-message-store.ts';
import { DynamoDbBlockList, DynamoDbRecipientStore } from './adapters/dynamodb-recipient-store.ts';
import { DynamoDbSecretStore, DynamoDbTenantStore } from './adapters/dynamodb-tenant-store.ts';
import { DynamoDbUsageLedger } from './adapters/dynamodb-usage-ledger.ts';
import { DynamoDbWebhookStore } from './adapters/dynamodb-webhook-store.ts';
import { KmsKeyService } from './adapters/kms-key-service.ts';
import { SqsDispatchQueue } from './adapters/sqs-dispatch-queue.ts';
import { SqsWebhookQueue } from './adapters/sqs-webhook-queue.ts';
import { perTenantClient, STSClient, tenantCredentials } from './adapters/sts-tenant-credentials.ts';
import { systemClock, ulidIds } from './adapters/system.ts';
import { declaresSetting, envPrefix, loadConfig } from './config.ts';
import { TenantCrypto } from './core/crypto.ts';
import type { Jurisdiction } from './core/model.ts';
import { RecipientPseudonyms } from './core/recipient-pseudonym.ts';
import { loadRegionalSystemSecret, loadSystemSecret, memo } from './core/system-secrets.ts';
import { DEFAULT_PRICES_USD } from './core/usage.ts';
import { reachesTenantsTableAsTenant } from './declaration.ts';
import { present } from './present.ts';
import { type SettingName, type SettingValue, settingSpec } from './settings.ts';
import { countKmsError, tracer } from './telemetry.ts';

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
export const once = <T>(make: () => T) => {
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

export const p = envPrefix;
export function jurisdictionConfig(j: Jurisdiction) {
  return { region: readSetting(`${p(j)}_REGION`) };
}

export const perJurisdiction = <T>(make: (j: Jurisdiction) => T) => {
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
export const tenantDynamodb = /* @__PURE__ */ tenantScoped(dynamodb, newDynamodb);
const tenantKms = /* @__PURE__ */ tenantScoped(kms, newKms);

export const keyService = /* @__PURE__ */ perJurisdiction(
  (j) => new KmsKeyService(tenantKms(j), readSetting('ACCOUNT_ID')),
);

export const messagesTable = (j: Jurisdiction) => readSetting(`${p(j)}_MESSAGES_TABLE`);

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
export const tenantRecordsClient = /* @__PURE__ */ once(() => {
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
export const systemSecret = (name: 'api-key-pepper' | 'recipient-pseudonym') =>
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

/** A tenant's trail is tenant data (`<tenant>#audit`): the tenant's credentials in a tenant-scoped function. */
export const auditStore = /* @__PURE__ */ perJurisdiction(
  (j) => new DynamoDbAuditStore(tenantDynamodb(j), messagesTable(j)),
);

export const auditTrail = /* @__PURE__ */ once(() =>
  // Built on first use: a global-region tenant route reads its own region's trail only.
  makeAuditTrail({ stores: onDemand(auditStore), clock: systemClock, endpoints: endpoints() }),
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
const webhookQueue = /* @__PURE__ */ perJurisdiction(
  (j) => new SqsWebhookQueue(sqs(j), readSetting(`${p(j)}_WEBHOOK_QUEUE_URL`)),
);

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

/** List prices per segment for the usage estimate: the defaults, overridden by `SMS_PRICES_USD`. */
const prices = () => ({ ...DEFAULT_PRICES_USD, ...readSetting('SMS_PRICES_USD') });

export const usageReports = /* @__PURE__ */ once(() =>
  makeUsageReports({ ledgers: onDemand(usageLedger), prices: prices(), clock: systemClock }),
);
