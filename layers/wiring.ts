import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { DynamoDbIdempotencyStore } from './adapters/dynamodb-idempotency-store.ts';
import { DynamoDbKeyringStore } from './adapters/dynamodb-keyring-store.ts';
import { DynamoDbMessageStore } from './adapters/dynamodb-message-store.ts';
import { DynamoDbSecretStore, DynamoDbTenantStore } from './adapters/dynamodb-tenant-store.ts';
import { KmsKeyService } from './adapters/kms-key-service.ts';
import { DynamoDbSandboxLedger, SandboxCarrier } from './adapters/sandbox-carrier.ts';
import { SqsDispatchQueue } from './adapters/sqs-dispatch-queue.ts';
import { systemClock } from './adapters/system.ts';
import { loadConfig, setting } from './config.ts';
import { TenantCrypto } from './core/crypto.ts';
import type { Jurisdiction } from './core/model.ts';
import { loadPepper, memo } from './core/use-cases/load-pepper.ts';

/**
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

const prefix = (j: Jurisdiction) => (j === 'eu' ? 'EU' : 'GLOBAL');

function jurisdictionConfig(j: Jurisdiction) {
  const p = prefix(j);
  const cfg = loadConfig({ [`${p}_REGION`]: setting.name }) as Record<string, string>;
  return { region: cfg[`${p}_REGION`]! };
}

const perJurisdiction = <T>(make: (j: Jurisdiction) => T) => {
  const made: Partial<Record<Jurisdiction, T>> = {};
  return (j: Jurisdiction): T => {
    made[j] ??= make(j);
    return made[j];
  };
};

const setting1 = (name: string, schema: z.ZodType<string> = setting.name) =>
  (loadConfig({ [name]: schema }) as Record<string, string>)[name]!;

export const dynamodb = perJurisdiction((j) => new DynamoDBClient({ region: jurisdictionConfig(j).region }));
export const sqs = perJurisdiction((j) => new SQSClient({ region: jurisdictionConfig(j).region }));
const kms = perJurisdiction((j) => new KMSClient({ region: jurisdictionConfig(j).region }));

export const keyService = perJurisdiction(
  (j) => new KmsKeyService(kms(j), process.env.ACCOUNT_ID ?? '000000000000'),
);

const messagesTable = (j: Jurisdiction) => setting1(`${prefix(j)}_MESSAGES_TABLE`);

export const keyringStore = perJurisdiction((j) => new DynamoDbKeyringStore(dynamodb(j), messagesTable(j)));

export const tenantCrypto = perJurisdiction(
  (j) =>
    new TenantCrypto(j, {
      keys: keyService(j),
      keyrings: keyringStore(j),
      clock: systemClock,
    }),
);
export const messageStore = perJurisdiction(
  (j) => new DynamoDbMessageStore(dynamodb(j), messagesTable(j), tenantCrypto(j)),
);
export const idempotencyStore = perJurisdiction(
  (j) => new DynamoDbIdempotencyStore(dynamodb(j), messagesTable(j), tenantCrypto(j)),
);
export const dispatchQueue = perJurisdiction(
  (j) => new SqsDispatchQueue(sqs(j), setting1(`${prefix(j)}_DISPATCH_QUEUE_URL`, setting.url)),
);

/** The ingress view of both jurisdictions. */
/** One of each, for both jurisdictions, e.g. `both(messageStore)`. */
export const both = <T>(make: (j: Jurisdiction) => T): Record<Jurisdiction, T> => ({
  global: make('global'),
  eu: make('eu'),
});

/** The ingress view of both jurisdictions: each one's table and queue. */
export const allStores = once(() =>
  both((j) => ({ messages: messageStore(j), idempotency: idempotencyStore(j), queue: dispatchQueue(j) })),
);

/** Each jurisdiction's public endpoint, when configured (named in 421 answers). */
export const endpoints = once(() => ({
  ...(process.env.GLOBAL_API_URL ? { global: process.env.GLOBAL_API_URL } : {}),
  ...(process.env.EU_API_URL ? { eu: process.env.EU_API_URL } : {}),
}));

/** The tenants table is global (a global table replicated to the EU region in AWS). */
const tenantsClient = once(
  () => new DynamoDBClient({ region: process.env.TENANTS_REGION ?? jurisdictionConfig('global').region }),
);
const tenantsKms = once(
  () => new KMSClient({ region: process.env.TENANTS_REGION ?? jurisdictionConfig('global').region }),
);
export const tenantStore = once(() => new DynamoDbTenantStore(tenantsClient(), setting1('TENANTS_TABLE')));

export const pepper = memo(async () => {
  const cfg = loadConfig({ TENANTS_TABLE: setting.name, SYSTEM_KEY_ID: setting.name });
  return loadPepper({
    keys: new KmsKeyService(tenantsKms()),
    secrets: new DynamoDbSecretStore(tenantsClient(), cfg.TENANTS_TABLE),
    keyId: cfg.SYSTEM_KEY_ID,
  });
});

export const carrier = perJurisdiction((j) => {
  loadConfig({ CARRIER: z.literal('sandbox', { error: 'only "sandbox" exists so far' }) });
  const ledgerTable = process.env.SANDBOX_LEDGER_TABLE;
  return new SandboxCarrier({
    sqs: sqs(j),
    eventsQueueUrl: setting1(`${prefix(j)}_CARRIER_EVENTS_QUEUE_URL`, setting.url),
    jurisdiction: j,
    // Optional by design: the ledger exists only in local runs, where nobody's handset is real.
    ledger: ledgerTable ? new DynamoDbSandboxLedger(dynamodb(j), ledgerTable) : undefined,
  });
});

/** The function's own jurisdiction (`endpointJurisdiction` lets an API stage variable override it). */
export const ownJurisdiction = once(() => loadConfig({ JURISDICTION: setting.jurisdiction }).JURISDICTION);
