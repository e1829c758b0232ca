import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type IndexDefinition,
  projectionOf,
  type QueueDefinition,
  SYSTEM_KEY_ALIAS,
  type TableDefinition,
} from '../resources.ts';

/** A local-only table for the sandbox carrier's handsets; it never exists in AWS. */
export const SANDBOX_LEDGER_TABLE: TableDefinition = {
  id: 'SandboxLedger',
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: [],
};

/** Creates a table from the shared definition (the same one the CDK app deploys); existing tables are kept. */
export async function ensureTable(client: DynamoDBClient, name: string, def: TableDefinition): Promise<void> {
  const attributes = new Set([
    def.partitionKey,
    def.sortKey,
    ...def.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ]);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map((a) => ({ AttributeName: a, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: def.partitionKey, KeyType: 'HASH' },
          { AttributeName: def.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes:
          def.indexes.length === 0
            ? undefined
            : def.indexes.map((i) => ({
                IndexName: i.name,
                KeySchema: [
                  { AttributeName: i.partitionKey, KeyType: 'HASH' },
                  { AttributeName: i.sortKey, KeyType: 'RANGE' },
                ],
                Projection: localProjection(i),
              })),
      }),
    );
    // Accepted and stored by DynamoDB Local, which never deletes: reads filter on expiresAt anyway.
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    // A data folder from an older version: add the indexes it lacks.
    const existing = await client.send(new DescribeTableCommand({ TableName: name }));
    const have = new Set((existing.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    for (const i of def.indexes.filter((x) => !have.has(x.name))) {
      await client.send(
        new UpdateTableCommand({
          TableName: name,
          AttributeDefinitions: [i.partitionKey, i.sortKey].map((a) => ({
            AttributeName: a,
            AttributeType: 'S',
          })),
          GlobalSecondaryIndexUpdates: [
            {
              Create: {
                IndexName: i.name,
                KeySchema: [
                  { AttributeName: i.partitionKey, KeyType: 'HASH' },
                  { AttributeName: i.sortKey, KeyType: 'RANGE' },
                ],
                Projection: localProjection(i),
              },
            },
          ],
        }),
      );
    }
  }
}

/** Creates a queue and its DLQ with the same redrive settings as the CDK app; returns both URLs. */
export async function ensureQueue(
  client: SQSClient,
  name: string,
  def: QueueDefinition,
  visibilityTimeoutSeconds: number,
): Promise<{ url: string; dlqUrl: string }> {
  const fifo = def.fifo ? { FifoQueue: 'true' } : {};
  const suffix = def.fifo ? '.fifo' : '';
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: `${name}-dlq${suffix}`,
      Attributes: { ...fifo, MessageRetentionPeriod: String(def.dlqRetentionDays * 86_400) },
    }),
  );
  const dlqArn = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: `${name}${suffix}`,
      Attributes: {
        ...fifo,
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(def.retentionDays * 86_400),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
          maxReceiveCount: def.maxReceiveCount,
        }),
      },
    }),
  );
  return { url: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

/** The gateway's own KMS key behind its alias (created by the CDK app in AWS). */
export async function ensureSystemKey(client: KMSClient, alias = SYSTEM_KEY_ALIAS): Promise<string> {
  try {
    const out = await client.send(new DescribeKeyCommand({ KeyId: alias }));
    return out.KeyMetadata!.Arn!;
  } catch (error) {
    if ((error as Error).name !== 'NotFoundException') throw error;
  }
  const key = await client.send(
    new CreateKeyCommand({ Description: 'SMS gateway system key (wraps the API key pepper)' }),
  );
  try {
    await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyMetadata!.KeyId }));
    return key.KeyMetadata!.Arn!;
  } catch (error) {
    if ((error as Error).name !== 'AlreadyExistsException') throw error;
    // Another starter won the race: use its key and drop ours.
    await client.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyMetadata!.KeyId, PendingWindowInDays: 7 }),
    );
    return (await client.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata!.Arn!;
  }
}

function localProjection(i: IndexDefinition) {
  const p = projectionOf(i);
  return { ProjectionType: p.type, ...(p.attributes ? { NonKeyAttributes: p.attributes } : {}) };
}
