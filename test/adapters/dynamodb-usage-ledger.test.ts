import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../infra/local/provision.ts';
import { TABLES } from '../../infra/resources.ts';
import { DynamoDbUsageLedger } from '../../layers/adapters/dynamodb-usage-ledger.ts';
import type { UsageCount } from '../../layers/core/usage.ts';
import { localClients, uniqueName } from '../support/aws.ts';

const table = uniqueName('messages');
const { dynamodb } = localClients();
const RETENTION = { tenantDays: 3650, aggregateDays: 30 };
const ledger = new DynamoDbUsageLedger(dynamodb, table, 'global', RETENTION);

// Days around today: DynamoDB Local removes items whose TTL has passed, so the cells' days follow
// the clock (a cell lives `aggregateDays` and a day after its own).
const DAY_MS = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10);
const TODAY = day(0);

const count = (overrides: Partial<UsageCount>): UsageCount => ({
  tenantId: 'ten_A',
  jurisdiction: 'global',
  day: TODAY,
  country: 'US',
  mode: 'live',
  status: 'sent',
  messages: 1,
  segments: 1,
  ...overrides,
});

const cell = async (d: string, country: string) => {
  const out = await dynamodb.send(
    new GetItemCommand({ TableName: table, Key: marshall({ pk: `usage#${d}`, sk: country }) }),
  );
  return out.Item ? unmarshall(out.Item) : undefined;
};

beforeAll(async () => {
  await ensureTable(dynamodb, table, TABLES.messages);
});

describe('DynamoDbUsageLedger.forgetTenant', () => {
  it("takes a closed tenant's id out of every analytics cell of the retention window, and keeps the counts", async () => {
    const [gone, stays] = [uniqueName('ten_Gone'), uniqueName('ten_Stays')];
    await ledger.add([
      // Today, two statuses of one cell, shared with another tenant.
      count({ tenantId: gone, status: 'sent', messages: 2, segments: 3 }),
      count({ tenantId: gone, status: 'delivered', messages: 2, segments: 3 }),
      count({ tenantId: stays, status: 'sent', messages: 5, segments: 5 }),
      // Its own cell alone: the set's last member goes, and the attribute with it.
      count({ tenantId: gone, country: 'DE', status: 'failed', messages: 1, segments: 1 }),
      // The window's first day, and tomorrow (a worker's clock ahead).
      count({ tenantId: gone, day: day(-RETENTION.aggregateDays), country: 'FR' }),
      count({ tenantId: gone, day: day(1), country: 'GB' }),
      // Test-mode traffic never reaches the gateway-wide cells.
      count({ tenantId: gone, mode: 'test', country: 'IT' }),
    ]);
    await ledger.add([count({ tenantId: stays, day: day(-3), country: 'ES' })]);
    const named = async () => {
      const out = await dynamodb.send(new ScanCommand({ TableName: table }));
      return (out.Items ?? [])
        .map((i) => unmarshall(i))
        .filter((i) => String(i.pk).startsWith('usage#'))
        .filter((i) => Object.values(i).some((v) => v instanceof Set && v.has(gone)))
        .map((i) => `${i.pk} ${i.sk}`)
        .sort();
    };
    expect(await named()).toEqual(
      [
        `usage#${day(-RETENTION.aggregateDays)} FR`,
        `usage#${TODAY} DE`,
        `usage#${TODAY} US`,
        `usage#${day(1)} GB`,
      ].sort(),
    );

    await expect(ledger.forgetTenant(gone, TODAY)).resolves.toBe(4);

    expect(await named()).toEqual([]);
    expect(await cell(TODAY, 'US')).toMatchObject({
      sent_m: 7,
      sent_s: 8,
      sent_t: new Set([stays]),
      delivered_m: 2,
      delivered_s: 3,
    });
    const us = await cell(TODAY, 'US');
    expect(us).not.toHaveProperty('delivered_t');
    const de = await cell(TODAY, 'DE');
    expect(de).toMatchObject({ failed_m: 1, failed_s: 1 });
    expect(de).not.toHaveProperty('failed_t');
    expect(await cell(day(-3), 'ES')).toMatchObject({ sent_t: new Set([stays]) });
    // The analytics still count the messages; the suppression sees one tenant fewer.
    const cells = await ledger.aggregate(TODAY, TODAY);
    expect(cells.find((c) => c.country === 'US' && c.status === 'sent')).toMatchObject({
      messages: 7,
      tenantIds: [stays],
    });
    expect(cells.find((c) => c.country === 'US' && c.status === 'delivered')).toMatchObject({
      messages: 2,
      tenantIds: [],
    });
    // Again: nothing left to change, and no cell made.
    await expect(ledger.forgetTenant(gone, TODAY)).resolves.toBe(0);
    await expect(ledger.forgetTenant(uniqueName('ten_Never'), TODAY)).resolves.toBe(0);
    expect(await cell(day(2), 'US')).toBeUndefined();
  });
});
