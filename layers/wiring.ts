import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { DynamoDbIdempotencyStore } from './adapters/dynamodb-idempotency-store.ts';
import { DynamoDbMessageStore } from './adapters/dynamodb-message-store.ts';
import { DynamoDbSecretStore, DynamoDbTenantStore } from './adapters/dynamodb-tenant-store.ts';
import { KmsKeyService } from './adapters/kms-key-service.ts';
import { DynamoDbSandboxLedger, SandboxCarrier } from './adapters/sandbox-carrier.ts';
import { SqsDispatchQueue } from './adapters/sqs-dispatch-queue.ts';
import { loadConfig, setting } from './config.ts';
import { loadPepper, memo } from './core/use-cases/load-pepper.ts';

/**
 * Composition root shared by the functions: each client and adapter is built once per process
 * (cold start) on first use, so a function pays only for what it touches.
 */
const once = <T>(make: () => T) => {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
};

export const dynamodb = once(() => new DynamoDBClient({}));
export const sqs = once(() => new SQSClient({}));
const kms = once(() => new KMSClient({}));

export const messageStore = once(
  () => new DynamoDbMessageStore(dynamodb(), loadConfig({ MESSAGES_TABLE: setting.name }).MESSAGES_TABLE),
);
export const idempotencyStore = once(
  () => new DynamoDbIdempotencyStore(dynamodb(), loadConfig({ MESSAGES_TABLE: setting.name }).MESSAGES_TABLE),
);
export const tenantStore = once(
  () => new DynamoDbTenantStore(dynamodb(), loadConfig({ TENANTS_TABLE: setting.name }).TENANTS_TABLE),
);
export const dispatchQueue = once(
  () => new SqsDispatchQueue(sqs(), loadConfig({ DISPATCH_QUEUE_URL: setting.url }).DISPATCH_QUEUE_URL),
);

export const pepper = memo(async () => {
  const cfg = loadConfig({ TENANTS_TABLE: setting.name, SYSTEM_KEY_ID: setting.name });
  return loadPepper({
    keys: new KmsKeyService(kms()),
    secrets: new DynamoDbSecretStore(dynamodb(), cfg.TENANTS_TABLE),
    keyId: cfg.SYSTEM_KEY_ID,
  });
});

export const carrier = once(() => {
  const cfg = loadConfig({
    CARRIER: z.literal('sandbox', { error: 'only "sandbox" exists so far' }),
    CARRIER_EVENTS_QUEUE_URL: setting.url,
    JURISDICTION: setting.jurisdiction,
  });
  const ledgerTable = process.env.SANDBOX_LEDGER_TABLE;
  return new SandboxCarrier({
    sqs: sqs(),
    eventsQueueUrl: cfg.CARRIER_EVENTS_QUEUE_URL,
    jurisdiction: cfg.JURISDICTION,
    // Optional by design: the ledger exists only in local runs, where nobody's handset is real.
    ledger: ledgerTable ? new DynamoDbSandboxLedger(dynamodb(), ledgerTable) : undefined,
  });
});
