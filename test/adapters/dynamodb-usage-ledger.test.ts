import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../infra/local/provision.ts';
import { TABLES } from '../../infra/resources.ts';
import {
  AGGREGATE_SHARDS,
  aggregateShard,
  DynamoDbUsageLedger,
} from '../../layers/adapters/dynamodb-usage-ledger.ts';
import type { UsageCount } from '../../layers/core/usage.ts';
import { localClients, uniqueName } from '../support/aws.ts';

const table = uniqueName('usage');
const { dynamodb } = localClients();
const ledger = new DynamoDbUsageLedger(dynamodb, table, 'global', { tenantDays: 400, aggregateDays: 100 });
const day = new Date().toISOString().slice(0, 10);

/** `count` tenant ids that land in the same shard. */
function sameShard(count: number): string[] {
  const byShard = new Map<number, string[]>();
  for (let i = 0; ; i++) {
    const id = `ten_${uniqueName('u')}${i}`;
    const list = byShard.get(aggregateShard(id)) ?? [];
    list.push(id);
    byShard.set(aggregateShard(id), list);
    if (list.length === count) return list;
  }
}

const count = (tenantId: string, over: Partial<UsageCount> = {}): UsageCount => ({
  tenantId,
  jurisdiction: 'global',
  day,
  country: 'US',
  mode: 'live',
  status: 'sent',
  messages: 1,
  segments: 2,
  ...over,
});

beforeAll(async () => {
  await ensureTable(dynamodb, table, TABLES.messages);
});

describe('DynamoDbUsageLedger on DynamoDB Local', () => {
  it('keeps a cell small: its first tenant, and a flag once a second one adds to it', async () => {
    const [a, b, c] = sameShard(3) as [string, string, string];
    await ledger.add([count(a), count(a)]);
    let cells = (await ledger.aggregate(day, day)).filter((x) => x.country === 'US');
    expect(cells).toEqual([
      { day, country: 'US', status: 'sent', messages: 2, segments: 4, tenantIds: [a], severalTenants: false },
    ]);
    await ledger.add([count(b)]);
    await ledger.add([count(c), count(a, { status: 'delivered' })]);
    cells = (await ledger.aggregate(day, day)).filter((x) => x.country === 'US');
    expect(cells).toEqual(
      expect.arrayContaining([
        {
          day,
          country: 'US',
          status: 'sent',
          messages: 4,
          segments: 8,
          tenantIds: [a],
          severalTenants: true,
        },
        {
          day,
          country: 'US',
          status: 'delivered',
          messages: 1,
          segments: 2,
          tenantIds: [a],
          severalTenants: false,
        },
      ]),
    );
    // Test traffic is the tenant's own business: never in the gateway-wide cells.
    await ledger.add([count(b, { mode: 'test', country: 'CA' })]);
    expect((await ledger.aggregate(day, day)).filter((x) => x.country === 'CA')).toEqual([]);
  });

  it('spreads tenants over the shards, and still reads a cell written before them (with its set of tenants)', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `ten_spread${i}`);
    expect(new Set(ids.map(aggregateShard)).size).toBe(AGGREGATE_SHARDS);
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: marshall({
          pk: `usage#${day}`,
          sk: 'GB',
          sent_m: 3,
          sent_s: 3,
          sent_t: new Set(['ten_x', 'ten_y']),
        }),
      }),
    );
    await ledger.add([count('ten_z', { country: 'GB' })]);
    const gb = (await ledger.aggregate(day, day)).filter((x) => x.country === 'GB');
    expect(gb).toEqual(
      expect.arrayContaining([
        {
          day,
          country: 'GB',
          status: 'sent',
          messages: 3,
          segments: 3,
          tenantIds: ['ten_x', 'ten_y'],
          severalTenants: false,
        },
        {
          day,
          country: 'GB',
          status: 'sent',
          messages: 1,
          segments: 2,
          tenantIds: ['ten_z'],
          severalTenants: false,
        },
      ]),
    );
  });
});
