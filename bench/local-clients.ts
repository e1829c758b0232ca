import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { type GatewayOptions, startGateway } from '../infra/local/gateway.ts';
import {
  freePort,
  LOCAL_CREDENTIALS,
  startDynamoDbLocal,
  startKms,
  startSqs,
} from '../infra/local/services.ts';
import { present } from '../layers/present.ts';

/** A DynamoDB client for a local service endpoint, in a region (DynamoDB Local keeps one database per region). */
export const localClientsFor = (endpoint: string, region: string) => ({
  dynamodb: new DynamoDBClient({ region, endpoint, credentials: LOCAL_CREDENTIALS }),
});

/**
 * A tenant's messages that pass `filter` (a FilterExpression over `#status` and the `values`
 * given), counted from the messages table.
 */
export async function countMessages(
  client: DynamoDBClient,
  table: string,
  tenantId: string,
  filter: string,
  values: Record<string, string>,
): Promise<number> {
  let n = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
        FilterExpression: filter,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({ ':pk': tenantId, ':msg': 'MSG#', ...values }),
        Select: 'COUNT',
        ExclusiveStartKey: startKey as never,
      }),
    );
    n += out.Count ?? 0;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return n;
}

/** A tenant's messages not final yet (queued or sent), counted from the messages table. */
export const countUnfinished = (client: DynamoDBClient, table: string, tenantId: string) =>
  countMessages(client, table, tenantId, '#status IN (:queued, :sent)', {
    ':queued': 'queued',
    ':sent': 'sent',
  });

/** DynamoDB Local, the local SQS and the KMS stand-in, each on a free port; `stop` stops the three. */
export async function startLocalServices() {
  const ddb = await startDynamoDbLocal({ port: await freePort() });
  const sqs = await startSqs({ port: 0 });
  const kms = await startKms({ port: 0, region: 'us-east-1' });
  return {
    ddb,
    sqs,
    kms,
    stop: async () => {
      for (const s of [kms, sqs, ddb]) await s.stop();
    },
  };
}

/** The admin API as a bench calls it: a path and a body, the answer's fields. */
type Admin = (path: string, body: unknown) => Promise<Record<string, string>>;

/** A tenant (legal name `<name> Ltd`) with a test-mode key for sending and reading, through the admin API. */
export async function testTenant(admin: Admin, name: string, contactEmail: string, keyName: string) {
  const created = await admin('/admin/tenants', {
    displayName: name,
    legalName: `${name} Ltd`,
    contactEmail,
    homeJurisdiction: 'global',
  });
  const id = present(created.id, "the created tenant's id");
  const issued = await admin(`/admin/tenants/${id}/keys`, {
    name: keyName,
    mode: 'test',
    scopes: ['send', 'read'],
  });
  return { id, key: present(issued.secret, "the issued key's secret") };
}

/**
 * The whole local gateway (both regions, on free ports, its logs dropped) on these DynamoDB, SQS
 * and KMS endpoints, its tables and queues under `prefix`; `options` adds to that.
 */
export const gatewayOn = (
  endpoints: { dynamodb: string; sqs: string; kms: string },
  prefix: string,
  options: Omit<Partial<GatewayOptions>, 'services' | 'prefix'> = {},
) =>
  startGateway({
    port: 0,
    euPort: 0,
    services: { kind: 'external', ...endpoints },
    prefix,
    log: () => undefined,
    ...options,
  });
