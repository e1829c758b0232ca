import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tenantKeyStatements } from '../../infra/cdk/tenant-key-grants.ts';
import { type Denial, type LocalIdentity, startIamProxy } from '../../infra/local/iam/proxy.ts';
import {
  freePort,
  LOCAL_CREDENTIALS,
  type RunningService,
  startDynamoDbLocal,
  startKms,
  startSqs,
} from '../../infra/local/services.ts';
import { KEY_USER_TAG, KmsKeyService, tenantKeyPolicy } from '../../layers/adapters/kms-key-service.ts';
import { uniqueName } from '../support/aws.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const table = uniqueName('iam-granted');
const otherTable = uniqueName('iam-other');
const lateTable = uniqueName('iam-late');
const queue = uniqueName('iam-work');
/** The key of the tables here, as the gateway's: pk (hash) and sk (range), strings. */
const PK_SK = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'sk', AttributeType: 'S' as const },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
};
const ddbArn = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;

/** A role as the local runtime gives one to a function: its access key id names it. */
function role(name: string, statements: object[], tags: Record<string, string> = {}): LocalIdentity {
  return {
    accessKeyId: `AKIA${name.toUpperCase().replaceAll('-', '')}`,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    roleName: name,
    policies: [{ Version: '2012-10-17', Statement: statements as never }],
    tags,
  };
}

const roles = [
  role('writer', [
    {
      Effect: 'Allow',
      Action: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      Resource: [ddbArn(table), `${ddbArn(table)}/index/granted`],
    },
  ]),
  role('tenant-a-only', [
    {
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: ddbArn(table),
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['ten_A'] } },
    },
  ]),
  // A tenant-access role's grant on an index whose partition key is `<tenant>#...`.
  role('tenant-a-index', [
    {
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: [
        ddbArn(table),
        `${ddbArn(table)}/index/granted`,
        ddbArn(lateTable),
        `${ddbArn(lateTable)}/index/late`,
      ],
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ten_A', 'ten_A#*'] } },
    },
  ]),
  // What CDK's grantConsumeMessages gives a queue's worker: no SendMessage.
  role('worker', [
    {
      Effect: 'Allow',
      Action: [
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueUrl',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ],
      Resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:${queue}`,
    },
  ]),
  // useTenantKeys(account, 'read') in infra/cdk/gateway-function.ts.
  role(
    'key-reader',
    [
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
        Condition: { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/sms-gateway/tenant/*' } },
      },
    ],
    { [KEY_USER_TAG.key]: KEY_USER_TAG.value },
  ),
  // useTenantKeys(account, 'write'), which grants no kms:PutKeyPolicy.
  role(
    'key-writer',
    [
      {
        Effect: 'Allow',
        Action: ['kms:CreateKey', 'kms:TagResource'],
        Resource: '*',
        Condition: { StringLike: { 'aws:RequestTag/sms-gateway:tenant': 'ten_*' } },
      },
      {
        Effect: 'Allow',
        Action: ['kms:CreateAlias', 'kms:DescribeKey'],
        Resource: [`arn:aws:kms:*:${ACCOUNT}:alias/sms-gateway/tenant/*`, `arn:aws:kms:*:${ACCOUNT}:key/*`],
      },
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
        Condition: { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/sms-gateway/tenant/*' } },
      },
    ],
    { [KEY_USER_TAG.key]: KEY_USER_TAG.value },
  ),
];
// What the stack grants now (infra/cdk/tenant-key-grants.ts).
const tenantWriter = role('tenant-writer', tenantKeyStatements(ACCOUNT, [REGION], 'write'), {
  [KEY_USER_TAG.key]: KEY_USER_TAG.value,
});
const keyAdmin = role('key-admin', [
  ...(roles.at(-1)!.policies[0]!.Statement as object[]),
  { Effect: 'Allow', Action: 'kms:PutKeyPolicy', Resource: `arn:aws:kms:*:${ACCOUNT}:key/*` },
]);
const identities = new Map([...roles, keyAdmin, tenantWriter].map((r) => [r.accessKeyId, r]));
const credentialsOf = (name: string) => {
  const r = [...identities.values()].find((i) => i.roleName === name)!;
  return { accessKeyId: r.accessKeyId, secretAccessKey: 'local' };
};

let services: RunningService[] = [];
let proxies: { endpoint: string; denials: Denial[]; close(): Promise<void> }[] = [];
const endpoints = { dynamodb: '', sqs: '', kms: '', kmsLagged: '', dynamodbDirect: '', kmsDirect: '' };
const LAG_MS = 1500;

beforeAll(async () => {
  const [dynamodb, sqs, kms] = await Promise.all([
    startDynamoDbLocal({ port: await freePort() }),
    startSqs({ port: 0 }),
    startKms({ port: 0, region: REGION }),
  ]);
  services = [dynamodb, sqs, kms];
  const common = {
    account: ACCOUNT,
    identityOf: (id: string) => identities.get(id),
    upstreamCredentials: LOCAL_CREDENTIALS,
  };
  proxies = await Promise.all([
    startIamProxy({ ...common, service: 'dynamodb', target: dynamodb.endpoint }),
    startIamProxy({ ...common, service: 'sqs', target: sqs.endpoint }),
    startIamProxy({ ...common, service: 'kms', target: kms.endpoint }),
    startIamProxy({ ...common, service: 'kms', target: kms.endpoint, authorizationLagMs: LAG_MS }),
  ]);
  const [ddbProxy, sqsProxy, kmsProxy, kmsLaggedProxy] = proxies.map((p) => p.endpoint);
  Object.assign(endpoints, { dynamodb: ddbProxy, sqs: sqsProxy, kms: kmsProxy, kmsLagged: kmsLaggedProxy });
  endpoints.dynamodbDirect = dynamodb.endpoint;
  endpoints.kmsDirect = kms.endpoint;

  const admin = new DynamoDBClient({
    region: REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: dynamodb.endpoint,
  });
  for (const name of [table, otherTable]) {
    await admin.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...PK_SK.AttributeDefinitions, { AttributeName: 'gsi', AttributeType: 'S' }],
        KeySchema: PK_SK.KeySchema,
        GlobalSecondaryIndexes: ['granted', 'secret'].map((IndexName) => ({
          IndexName,
          KeySchema: [{ AttributeName: 'gsi', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        })),
      }),
    );
  }
  admin.destroy();
  const sqsAdmin = new SQSClient({ region: REGION, credentials: LOCAL_CREDENTIALS, endpoint: sqs.endpoint });
  await sqsAdmin.send(new CreateQueueCommand({ QueueName: queue }));
  sqsAdmin.destroy();
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(services.map((s) => s.stop()));
});

const config = (as: string) => ({
  region: REGION,
  credentials: as === 'admin' ? LOCAL_CREDENTIALS : credentialsOf(as),
  maxAttempts: 1,
});
const ddb = (as: string, endpoint = endpoints.dynamodb) => new DynamoDBClient({ ...config(as), endpoint });
const kmsAs = (as: string, endpoint = endpoints.kms) => new KMSClient({ ...config(as), endpoint });
const item = (pk: string, sk = 'a') => ({ pk: { S: pk }, sk: { S: sk }, gsi: { S: 'g' } });
const allDenials = () => proxies.flatMap((p) => p.denials);

describe('IAM proxy in front of DynamoDB Local', () => {
  it('lets a granted PutItem through into the one database the admin credentials see', async () => {
    await ddb('writer').send(new PutItemCommand({ TableName: table, Item: item('ten_A', 'put') }));

    const seen = await ddb('admin', endpoints.dynamodbDirect).send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'ten_A' }, sk: { S: 'put' } } }),
    );
    expect(seen.Item?.pk?.S).toBe('ten_A');
  });

  it('answers a PutItem on a table the role was not granted with AccessDeniedException, and says so once', async () => {
    const stderr = vi.spyOn(process.stderr, 'write');
    const error = await ddb('writer')
      .send(new PutItemCommand({ TableName: otherTable, Item: item('ten_A') }))
      .catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);

    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/writer/writer is not authorized to perform: dynamodb:PutItem on resource: ${ddbArn(otherTable)} because no identity-based policy allows the dynamodb:PutItem action`,
    });
    const lines = stderr.mock.calls.map(([c]) => String(c)).filter((l) => l.startsWith('IAM denied'));
    stderr.mockRestore();
    expect(lines).toEqual([
      `IAM denied: role writer may not dynamodb:PutItem on ${ddbArn(otherTable)} (because no identity-based policy allows the dynamodb:PutItem action)\n`,
    ]);
    expect(allDenials()).toContainEqual(
      expect.objectContaining({ service: 'dynamodb', role: 'writer', resource: ddbArn(otherTable) }),
    );
  });

  it('authorizes a Query on an index by the index ARN', async () => {
    const query = (IndexName: string) =>
      ddb('writer').send(
        new QueryCommand({
          TableName: table,
          IndexName,
          KeyConditionExpression: 'gsi = :g',
          ExpressionAttributeValues: { ':g': { S: 'g' } },
        }),
      );

    await expect(query('granted')).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    await expect(query('secret')).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`on resource: ${ddbArn(table)}/index/secret `),
    });
  });

  it('refuses a whole transaction when one of its tables is not granted, writing nothing', async () => {
    const put = (TableName: string) => ({ Put: { TableName, Item: item('ten_T', 'tx') } });

    await expect(
      ddb('writer').send(new TransactWriteItemsCommand({ TransactItems: [put(table), put(otherTable)] })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining(otherTable) });
    const seen = await ddb('admin', endpoints.dynamodbDirect).send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'ten_T' }, sk: { S: 'tx' } } }),
    );
    expect(seen.Item).toBeUndefined();
  });

  it('gives dynamodb:LeadingKeys the partition keys an item write touches', async () => {
    await expect(
      ddb('tenant-a-only').send(new PutItemCommand({ TableName: table, Item: item('ten_A', 'lk') })),
    ).resolves.toBeDefined();
    await expect(
      ddb('tenant-a-only').send(new PutItemCommand({ TableName: table, Item: item('ten_B', 'lk') })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it("gives dynamodb:LeadingKeys a Query's partition key value: the index's on an index, wherever the key condition names it", async () => {
    const query = (input: {
      IndexName?: string;
      KeyConditionExpression: string;
      values: Record<string, string>;
    }) =>
      ddb('tenant-a-index').send(
        new QueryCommand({
          TableName: table,
          ...(input.IndexName ? { IndexName: input.IndexName } : {}),
          KeyConditionExpression: input.KeyConditionExpression,
          ...(input.IndexName ? { ExpressionAttributeNames: { '#g': 'gsi' } } : {}),
          ExpressionAttributeValues: Object.fromEntries(
            Object.entries(input.values).map(([k, v]) => [k, { S: v }]),
          ),
        }),
      );
    const onIndex = (g: string) =>
      query({ IndexName: 'granted', KeyConditionExpression: '#g = :g', values: { ':g': g } });

    await expect(onIndex('ten_A#subject')).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    await expect(onIndex('ten_B#subject')).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`on resource: ${ddbArn(table)}/index/granted `),
    });
    // On the table, the sort key's condition may come first.
    await expect(
      query({ KeyConditionExpression: 'sk = :s AND pk = :p', values: { ':s': 'a', ':p': 'ten_A' } }),
    ).resolves.toBeDefined();
    await expect(
      query({ KeyConditionExpression: 'sk = :s AND pk = :p', values: { ':s': 'a', ':p': 'ten_B' } }),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('scopes a Query of an index added after the proxy first described its table', async () => {
    const admin = ddb('admin', endpoints.dynamodbDirect);
    await admin.send(
      new CreateTableCommand({
        TableName: lateTable,
        BillingMode: 'PAY_PER_REQUEST',
        ...PK_SK,
      }),
    );
    const query = (input: object) =>
      ddb('tenant-a-index').send(new QueryCommand({ TableName: lateTable, ...input } as never));
    await expect(
      query({ KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'ten_A' } } }),
    ).resolves.toBeDefined();
    await admin.send(
      new UpdateTableCommand({
        TableName: lateTable,
        AttributeDefinitions: [{ AttributeName: 'lateKey', AttributeType: 'S' }],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: 'late',
              KeySchema: [{ AttributeName: 'lateKey', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
            },
          },
        ],
      }),
    );
    const onLate = (v: string) =>
      query({
        IndexName: 'late',
        KeyConditionExpression: 'lateKey = :v',
        ExpressionAttributeValues: { ':v': { S: v } },
      });
    // (DynamoDB Local answers a query of an index added by UpdateTable with InternalFailure: what
    // counts here is that IAM let the tenant's own partition through and refused another's.)
    const own = await onLate('ten_A#x').catch((e: Error) => e);
    expect((own as Error).name).not.toBe('AccessDeniedException');
    await expect(onLate('ten_B#x')).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('passes a call with an access key that names no role through unchecked', async () => {
    const before = allDenials().length;
    await ddb('admin').send(new PutItemCommand({ TableName: otherTable, Item: item('ten_Z', 'op') }));

    const seen = await ddb('admin', endpoints.dynamodbDirect).send(
      new GetItemCommand({ TableName: otherTable, Key: { pk: { S: 'ten_Z' }, sk: { S: 'op' } } }),
    );
    expect(seen.Item).toBeDefined();
    expect(allDenials()).toHaveLength(before);
  });
});

describe('IAM proxy in front of the local SQS', () => {
  const sqs = () => new SQSClient({ ...config('worker'), endpoint: endpoints.sqs });
  const queueUrl = () => `${endpoints.sqs}/${ACCOUNT}/${queue}`;

  it('lets a worker consume its queue but not send to it (SendMessageBatch counts as sqs:SendMessage)', async () => {
    await expect(
      sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl(), WaitTimeSeconds: 0 })),
    ).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });

    // Real SQS answers the JSON protocol with its query-protocol code in x-amzn-query-error, which
    // the SDK makes the error's name: "AccessDenied" (as botocore reports it too).
    const arn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${queue}`;
    await expect(
      sqs().send(new SendMessageCommand({ QueueUrl: queueUrl(), MessageBody: 'again' })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
      message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/worker/worker is not authorized to perform: sqs:sendmessage on resource: ${arn} because no identity-based policy allows the sqs:sendmessage action`,
    });
    await expect(
      sqs().send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl(), Entries: [{ Id: '1', MessageBody: 'again' }] }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(
      allDenials()
        .filter((d) => d.role === 'worker')
        .map((d) => d.action),
    ).toEqual(['sqs:SendMessage', 'sqs:SendMessage']);
  });
});

describe('IAM proxy in front of the KMS stand-in', () => {
  const admin = () => kmsAs('admin', endpoints.kmsDirect);
  const context = { tenant: 'ten_A', jurisdiction: 'global', purpose: 'test' };

  it('allows Decrypt by root delegation and an IAM kms:ResourceAliases condition, only once the alias has taken effect', async () => {
    const key = await admin().send(new CreateKeyCommand({ Description: 'default policy' }));
    const keyId = key.KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await admin().send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: context }),
    );
    const decrypt = () =>
      kmsAs('key-reader', endpoints.kmsLagged).send(
        new DecryptCommand({ CiphertextBlob, EncryptionContext: context }),
      );

    await expect(decrypt()).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await admin().send(
      new CreateAliasCommand({
        AliasName: `alias/sms-gateway/tenant/${uniqueName('ten')}/global`,
        TargetKeyId: keyId,
      }),
    );
    await expect(decrypt()).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringContaining('because no identity-based policy allows the kms:Decrypt action'),
    });
    await new Promise((r) => setTimeout(r, LAG_MS + 200));
    const out = await decrypt();
    expect(Buffer.from(out.Plaintext!).toString()).toBe('secret');
  });

  it("refuses GenerateDataKey under another tenant's encryption context by the tenant key policy", async () => {
    const key = await admin().send(
      new CreateKeyCommand({ Policy: JSON.stringify(tenantKeyPolicy(ACCOUNT, 'ten_A', 'global')) }),
    );
    const keyId = key.KeyMetadata!.Arn!;
    await admin().send(
      new CreateAliasCommand({
        AliasName: `alias/sms-gateway/tenant/ten_A-${uniqueName('k')}/global`,
        TargetKeyId: keyId,
      }),
    );
    const generate = (tenant: string) =>
      kmsAs('key-writer').send(
        new GenerateDataKeyCommand({
          KeyId: keyId,
          KeySpec: 'AES_256',
          EncryptionContext: { ...context, tenant },
        }),
      );

    await expect(generate('ten_A')).resolves.toMatchObject({ KeyId: keyId });
    await expect(generate('ten_B')).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        'because no resource-based policy allows the kms:GenerateDataKey action',
      ),
    });
  });

  it('refuses CreateKey with the tenant key policy from a role that could not update that policy later (the lockout check)', async () => {
    const create = (who: string) =>
      kmsAs(who).send(
        new CreateKeyCommand({
          Policy: JSON.stringify(tenantKeyPolicy(ACCOUNT, 'ten_L', 'global')),
          Tags: [{ TagKey: 'sms-gateway:tenant', TagValue: 'ten_L' }],
        }),
      );
    await expect(create('key-writer')).rejects.toMatchObject({
      name: 'MalformedPolicyDocumentException',
      message: 'The new key policy will not allow you to update the key policy in the future.',
    });
    await expect(create('key-admin')).resolves.toMatchObject({ KeyMetadata: expect.anything() });
  });

  it("creates a tenant key with the stack's grants and uses it at once, inside the alias authorization lag", async () => {
    const tenantId = `ten_${uniqueName('n').replace(/[^A-Za-z0-9]/g, '')}`;
    const keys = new KmsKeyService(kmsAs('tenant-writer'), ACCOUNT);
    const keyId = await keys.createTenantKey(tenantId, 'global');
    const context = { tenant: tenantId, jurisdiction: 'global', purpose: 'message' };
    // No wait: the alias is seconds old, which kms:ResourceAliases would not yet see.
    const { plaintext, ciphertext } = await keys.generateDataKey(keyId, context);
    await expect(keys.decrypt(ciphertext, context)).resolves.toEqual(plaintext);
    // A retry (an earlier try whose keyring write failed) finds the same key instead of another.
    await expect(keys.createTenantKey(tenantId, 'global')).resolves.toBe(keyId);
  });
});
