import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
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
});
