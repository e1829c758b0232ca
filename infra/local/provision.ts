import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  LimitExceededException,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { present } from '../../layers/present.ts';
import {
  type IndexDefinition,
  projectionOf,
  type QueueDefinition,
  SYSTEM_KEY_ALIAS,
  type TableDefinition,
} from '../resources.ts';

/**
 * A local-only table for the sandbox carrier's handsets; it never exists in AWS, so no template
 * declares it.
 */
export const SANDBOX_LEDGER_TABLE: TableDefinition = {
  id: 'SandboxLedger',
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: [],
};

/**
 * Creates a table from the shared definition (the same one the CDK app deploys), as a template
 * declaring it would; an existing table is kept and gains the indexes it lacks (a data folder
 * from an older version).
 */
export async function ensureTable(client: DynamoDBClient, name: string, def: TableDefinition): Promise<void> {
  await provisionTable(client, name, tableProperties(def));
}

/** A shared table definition as the template properties `provisionTable` reads. */
function tableProperties(def: TableDefinition): TableProperties {
  const keySchema = (partitionKey: string, sortKey: string) => [
    { AttributeName: partitionKey, KeyType: 'HASH' as const },
    { AttributeName: sortKey, KeyType: 'RANGE' as const },
  ];
  const attributes = new Set([
    def.partitionKey,
    def.sortKey,
    ...def.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ]);
  return {
    AttributeDefinitions: [...attributes].map((a) => ({ AttributeName: a, AttributeType: 'S' })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    GlobalSecondaryIndexes: def.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: keySchema(i.partitionKey, i.sortKey),
      Projection: localProjection(i),
    })),
    TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true },
  };
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
  const dlqUrl = present(dlq.QueueUrl, "SQS CreateQueue's QueueUrl");
  const dlqArn = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
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
  return { url: present(queue.QueueUrl, "SQS CreateQueue's QueueUrl"), dlqUrl };
}

/** The gateway's own KMS key behind its alias (created by the CDK app in AWS). */
export async function ensureSystemKey(client: KMSClient, alias = SYSTEM_KEY_ALIAS): Promise<string> {
  const key = await provisionKey(client, {
    alias,
    description: 'SMS gateway system key (wraps the API key pepper)',
  });
  return key.arn;
}

function localProjection(i: IndexDefinition) {
  const p = projectionOf(i);
  return { ProjectionType: p.type, ...(p.attributes ? { NonKeyAttributes: p.attributes } : {}) };
}

/** The properties of an AWS::DynamoDB::GlobalTable (or ::Table) that shape it locally. */
export interface TableProperties {
  AttributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  GlobalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
  }[];
  TimeToLiveSpecification?: { AttributeName?: string; Enabled: boolean };
  /** A global table's replicas: the local runtime makes the table in each region and replicates it. */
  Replicas?: { Region: string }[];
}

/**
 * Creates a table as its template declares it (keys, indexes, TTL); an existing table gains the
 * indexes it lacks. A replicated table (`stream`) gets a stream of new images, what the local
 * replication reads.
 */
export async function provisionTable(
  client: DynamoDBClient,
  name: string,
  props: TableProperties,
  options: { stream?: boolean } = {},
): Promise<void> {
  const indexes = props.GlobalSecondaryIndexes ?? [];
  const stream = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' as const };
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: props.AttributeDefinitions,
        KeySchema: props.KeySchema,
        GlobalSecondaryIndexes: indexes.length === 0 ? undefined : indexes,
        ...(options.stream ? { StreamSpecification: stream } : {}),
      }),
    );
    const ttl = props.TimeToLiveSpecification;
    // Accepted and stored by DynamoDB Local, which never deletes: reads filter on expiresAt anyway.
    if (ttl?.Enabled && ttl.AttributeName) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      );
    }
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    const existing = await client.send(new DescribeTableCommand({ TableName: name }));
    if (options.stream && !existing.Table?.StreamSpecification?.StreamEnabled) {
      await client.send(new UpdateTableCommand({ TableName: name, StreamSpecification: stream }));
    }
    const have = new Set((existing.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    // DynamoDB builds one new index of a table at a time: each is created once the one before is active.
    for (const index of indexes.filter((x) => !have.has(x.IndexName))) {
      const keys = new Set(index.KeySchema.map((k) => k.AttributeName));
      const create = new UpdateTableCommand({
        TableName: name,
        AttributeDefinitions: props.AttributeDefinitions.filter((a) => keys.has(a.AttributeName)),
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      });
      for (let attempt = 1; ; attempt++) {
        await untilIndexesActive(client, name);
        try {
          await client.send(create);
          break;
        } catch (error) {
          // The one before may still be building where the table's description does not say so yet.
          if (!(error instanceof LimitExceededException) || attempt === 20) throw error;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
    await untilIndexesActive(client, name);
  }
}

/** Waits until no index of the table is still being built (DynamoDB builds one at a time). */
async function untilIndexesActive(client: DynamoDBClient, name: string, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const building = (Table?.GlobalSecondaryIndexes ?? []).filter((i) => i.IndexStatus !== 'ACTIVE');
    if (building.length === 0) return;
    if (Date.now() > until) {
      throw new Error(
        `Table ${name}: index ${building.map((i) => i.IndexName).join(', ')} still ${building[0]?.IndexStatus} after ${timeoutMs / 1000} s`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The properties of an AWS::SQS::Queue that shape it locally (the redrive target as a real local ARN). */
export interface QueueProperties {
  FifoQueue?: boolean;
  ContentBasedDeduplication?: boolean;
  VisibilityTimeout?: number;
  MessageRetentionPeriod?: number;
  DelaySeconds?: number;
  MaximumMessageSize?: number;
  ReceiveMessageWaitTimeSeconds?: number;
  RedrivePolicy?: { deadLetterTargetArn: string; maxReceiveCount: number };
}

/** Creates a queue as its template declares it, or brings an existing one's attributes in line; returns its URL and ARN. */
export async function provisionQueue(
  client: SQSClient,
  name: string,
  props: QueueProperties,
): Promise<{ url: string; arn: string }> {
  const attributes: Record<string, string> = {};
  const set = (key: keyof QueueProperties) => {
    const v = props[key];
    if (v === undefined) return;
    attributes[key] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  };
  for (const key of [
    'VisibilityTimeout',
    'MessageRetentionPeriod',
    'DelaySeconds',
    'MaximumMessageSize',
    'ReceiveMessageWaitTimeSeconds',
    'RedrivePolicy',
  ] as const)
    set(key);
  if (props.FifoQueue) {
    attributes.FifoQueue = 'true';
    if (props.ContentBasedDeduplication !== undefined)
      attributes.ContentBasedDeduplication = String(props.ContentBasedDeduplication);
  }
  let url: string;
  try {
    const created = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    url = present(created.QueueUrl, "SQS CreateQueue's QueueUrl");
  } catch (error) {
    if (!/QueueAlreadyExists|QueueNameExists/.test((error as Error).name)) throw error;
    const existing = await client.send(new GetQueueUrlCommand({ QueueName: name }));
    url = present(existing.QueueUrl, "SQS GetQueueUrl's QueueUrl");
    const { FifoQueue: _fifo, ...changeable } = attributes;
    await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: changeable }));
  }
  const arn = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: present(arn.Attributes?.QueueArn, "SQS GetQueueAttributes' QueueArn") };
}

/**
 * The key behind `alias` in the client's region, created with `policy` (its template's KeyPolicy)
 * when there is none; a data folder's key is found again by its alias.
 */
export async function provisionKey(
  client: KMSClient,
  options: { alias: string; description?: string; policy?: unknown },
): Promise<{ keyId: string; arn: string }> {
  const describe = async () =>
    keyOf(await client.send(new DescribeKeyCommand({ KeyId: options.alias })), 'DescribeKey');
  try {
    return await describe();
  } catch (error) {
    if ((error as Error).name !== 'NotFoundException') throw error;
  }
  const key = keyOf(
    await client.send(
      new CreateKeyCommand({
        Description: options.description,
        ...(options.policy ? { Policy: JSON.stringify(options.policy) } : {}),
      }),
    ),
    'CreateKey',
  );
  try {
    await client.send(new CreateAliasCommand({ AliasName: options.alias, TargetKeyId: key.keyId }));
    return key;
  } catch (error) {
    if ((error as Error).name !== 'AlreadyExistsException') throw error;
    // Another starter won the race: use its key and drop ours.
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    return describe();
  }
}

/** The id and ARN in a KMS answer that describes a key (a successful DescribeKey or CreateKey has both). */
function keyOf(out: { KeyMetadata?: KeyMetadata }, call: string): { keyId: string; arn: string } {
  const metadata = present(out.KeyMetadata, `KMS ${call}'s KeyMetadata`);
  return {
    keyId: present(metadata.KeyId, `KMS ${call}'s KeyMetadata.KeyId`),
    arn: present(metadata.Arn, `KMS ${call}'s KeyMetadata.Arn`),
  };
}
