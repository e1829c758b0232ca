import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
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

describe('DynamoDbUsageLedger.forgetTenant (account closure)', () => {
  const DAY_MS = 86_400_000;
  const dayAt = (offset: number) => new Date(Date.parse(day) + offset * DAY_MS).toISOString().slice(0, 10);
  const keep = 100; // the ledger's aggregateDays
  const raw = async (pk: string, sk: string) => {
    const out = await dynamodb.send(new GetItemCommand({ TableName: table, Key: marshall({ pk, sk }) }));
    return out.Item ? unmarshall(out.Item) : undefined;
  };

  it("takes a closed tenant's id out of every analytics cell of the retention window, and keeps the counts", async () => {
    const [gone, stays] = sameShard(2) as [string, string];
    const shard = `usage#${day}#${aggregateShard(gone)}`;
    await ledger.add([count(gone, { country: 'CA', messages: 2, segments: 3 })]);
    await ledger.add([
      count(gone, { country: 'CA', status: 'delivered', messages: 2, segments: 3 }),
      count(stays, { country: 'CA', messages: 5, segments: 5 }),
      count(gone, { country: 'DE', status: 'failed' }),
      count(gone, { day: dayAt(-keep), country: 'FR' }),
      count(gone, { day: dayAt(1), country: 'GB' }),
      // Test-mode traffic never reaches the gateway-wide cells.
      count(gone, { mode: 'test', country: 'IT' }),
    ]);
    // A cell written before the first-tenant form: the set of its tenants.
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: marshall({
          pk: `usage#${day}`,
          sk: 'NL',
          sent_m: 3,
          sent_s: 3,
          sent_t: new Set([gone, stays]),
        }),
      }),
    );
    const named = async () => {
      const out = await dynamodb.send(new ScanCommand({ TableName: table }));
      return (out.Items ?? [])
        .map((i) => unmarshall(i))
        .filter((i) => String(i.pk).startsWith('usage#'))
        .filter((i) => Object.values(i).some((v) => v === gone || (v instanceof Set && v.has(gone))))
        .map((i) => `${i.pk} ${i.sk}`)
        .sort();
    };
    expect(await named()).toEqual(
      [
        `usage#${dayAt(-keep)}#${aggregateShard(gone)} FR`,
        `${shard} DE`,
        `${shard} CA`,
        `usage#${dayAt(1)}#${aggregateShard(gone)} GB`,
        `usage#${day} NL`,
      ].sort(),
    );

    await expect(ledger.forgetTenant(gone, day)).resolves.toBe(5);

    expect(await named()).toEqual([]);
    const us = await raw(shard, 'CA');
    // The counts stay, and so does the flag that two tenants added to the cell.
    expect(us).toMatchObject({ sent_m: 7, sent_s: 8, sent_n2: true, delivered_m: 2, delivered_s: 3 });
    expect(us).not.toHaveProperty('sent_t1');
    expect(us).not.toHaveProperty('delivered_t1');
    expect(await raw(`usage#${day}`, 'NL')).toMatchObject({ sent_m: 3, sent_t: new Set([stays]) });
    const cells = await ledger.aggregate(day, day);
    expect(cells.find((c) => c.country === 'CA' && c.status === 'sent')).toMatchObject({
      messages: 7,
      tenantIds: [],
      severalTenants: true,
    });
    expect(cells.find((c) => c.country === 'CA' && c.status === 'delivered')).toMatchObject({
      messages: 2,
      tenantIds: [],
      severalTenants: false,
    });
    // Again: nothing left to change, and no cell made.
    await expect(ledger.forgetTenant(gone, day)).resolves.toBe(0);
    await expect(ledger.forgetTenant(uniqueName('ten_Never'), day)).resolves.toBe(0);
    expect(await raw(`usage#${dayAt(2)}#${aggregateShard(gone)}`, 'US')).toBeUndefined();
  });
});
