import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { ensureTable } from '../../infra/local/provision.ts';
import { TABLES } from '../../infra/resources.ts';
import { localClients, uniqueName } from '../support/aws.ts';

const { dynamodb } = localClients();

const indexesOf = async (table: string) => {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
  return Object.fromEntries(
    (Table?.GlobalSecondaryIndexes ?? []).map((i) => [
      i.IndexName,
      { keys: i.KeySchema?.map((k) => `${k.KeyType}:${k.AttributeName}`), projection: i.Projection },
    ]),
  );
};

describe('ensureTable on DynamoDB Local', () => {
  it("creates a table with its definition's indexes, projections and TTL", async () => {
    const table = uniqueName('provision');
    await ensureTable(dynamodb, table, TABLES.messages);
    const indexes = await indexesOf(table);
    expect(Object.keys(indexes).sort()).toEqual(TABLES.messages.indexes.map((i) => i.name).sort());
    expect(indexes.bySubject).toEqual({
      keys: ['HASH:gsi2pk', 'RANGE:gsi2sk'],
      projection: { ProjectionType: 'KEYS_ONLY' },
    });
    const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: table }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe('expiresAt');
  });

  it('gives a table made by an older version (a kept data folder) every index it lacks', async () => {
    const table = uniqueName('provision');
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TABLES.messages.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLES.messages.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLES.messages.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLES.messages.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
    // Items to index (the new indexes are built over them: DynamoDB creates one index at a time).
    const item = (i: number) =>
      marshall(
        Object.fromEntries([
          [TABLES.messages.partitionKey, 'ten_old'],
          [TABLES.messages.sortKey, `MSG#${i}`],
          ...TABLES.messages.indexes.flatMap((x) => [
            [x.partitionKey, `ten_old#${i % 7}`],
            [x.sortKey, String(i)],
          ]),
        ]),
      );
    for (let i = 0; i < 200; i += 25) {
      await dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [table]: Array.from({ length: 25 }, (_, n) => ({ PutRequest: { Item: item(i + n) } })),
          },
        }),
      );
    }
    expect(TABLES.messages.indexes.length).toBeGreaterThan(1);
    await ensureTable(dynamodb, table, TABLES.messages);
    const indexes = await indexesOf(table);
    expect(Object.keys(indexes).sort()).toEqual(TABLES.messages.indexes.map((i) => i.name).sort());
    // Each index is built over the items before the next is asked for: slow on a loaded machine.
  }, 120_000);
});
