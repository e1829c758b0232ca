import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { LOCAL_CREDENTIALS } from '../infra/local/services.ts';

/** A DynamoDB client for a local service endpoint, in a region (DynamoDB Local keeps one database per region). */
export const localClientsFor = (endpoint: string, region: string) => ({
  dynamodb: new DynamoDBClient({ region, endpoint, credentials: LOCAL_CREDENTIALS }),
});

/** A tenant's messages not final yet (queued or sent), counted from the messages table. */
export async function countUnfinished(
  client: DynamoDBClient,
  table: string,
  tenantId: string,
): Promise<number> {
  let n = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
        FilterExpression: '#status IN (:queued, :sent)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({
          ':pk': tenantId,
          ':msg': 'MSG#',
          ':queued': 'queued',
          ':sent': 'sent',
        }),
        Select: 'COUNT',
        ExclusiveStartKey: startKey as never,
      }),
    );
    n += out.Count ?? 0;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return n;
}
