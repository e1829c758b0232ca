import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../infra/local/services.ts';
import { DynamoDbKeyringStore } from '../../layers/adapters/dynamodb-keyring-store.ts';
import { KmsKeyService } from '../../layers/adapters/kms-key-service.ts';
import { TenantCrypto } from '../../layers/core/crypto.ts';
import type { Jurisdiction } from '../../layers/core/model.ts';
import type { Clock } from '../../layers/ports/index.ts';
import { waitFor } from './http.ts';

/** SDK clients pointed at the run's real local services (a region is a separate database/key space). */
export function localClients(region = 'us-east-1') {
  const config = { region, credentials: LOCAL_CREDENTIALS };
  const services = inject('services');
  return {
    services,
    dynamodb: new DynamoDBClient({ ...config, endpoint: services.dynamodb }),
    sqs: new SQSClient({ ...config, endpoint: services.sqs }),
    kms: new KMSClient({ ...config, endpoint: services.kms }),
  };
}

/** A name no other test file uses, for tables and queues. */
export const uniqueName = (stem: string) => `${stem}-${randomBytes(4).toString('hex')}`;

/**
 * The production encryption stack for a table: TenantCrypto over the real KMS client (against
 * the KMS stand-in) and the DynamoDB keyring store. `clock` lets retention tests move time.
 */
export function localCrypto(
  table: string,
  options: { jurisdiction?: Jurisdiction; region?: string; clock?: Clock } = {},
) {
  const clients = localClients(options.region);
  const keyrings = new DynamoDbKeyringStore(clients.dynamodb, table);
  const keys = new KmsKeyService(clients.kms);
  const crypto = new TenantCrypto(options.jurisdiction ?? 'global', {
    keys,
    keyrings,
    clock: options.clock ?? { now: () => new Date() },
  });
  return { crypto, keyrings, keys, ...clients };
}

/** Waits for a record on a dead-letter queue whose body matches, and returns it. */
export const deadLetter = (sqs: SQSClient, queueUrl: string, matches: (body: string) => boolean) =>
  waitFor(
    async () => {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      return (out.Messages ?? []).find((m) => matches(m.Body ?? ''));
    },
    'the record in the DLQ',
    40_000,
  );
