import { createHash } from 'node:crypto';
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Jurisdiction } from '../core/model.ts';
import { USAGE_STATUSES, type UsageCount } from '../core/usage.ts';
import type { AggregateCell, UsageLedger } from '../ports/index.ts';
import { queryAll, unlessConditionFails } from './dynamodb-util.ts';

const DAY_MS = 86_400_000;
/** Days of gateway-wide cells queried at once when a closed tenant's id is taken out of them. */
const FORGET_CONCURRENCY = 16;

/** A tenant's counters: `<tenantId>#usage`, one item per day, country and key mode. */
const tenantPk = (tenantId: string) => `${tenantId}#usage`;
/**
 * Gateway-wide counters of live traffic spread over this many partition keys a day, by tenant
 * (`usage#<day>#<shard>`): no tenant in the key, and each key takes DynamoDB's 1,000 write units a
 * second on its own. Cells written before the shards are at `usage#<day>` and are read too.
 */
export const AGGREGATE_SHARDS = 8;
export const aggregateShard = (tenantId: string) =>
  (createHash('sha256').update(tenantId).digest()[0] ?? 0) % AGGREGATE_SHARDS;
const aggregatePk = (day: string, shard?: number) =>
  shard === undefined ? `usage#${day}` : `usage#${day}#${shard}`;
/** Days read at once by `aggregate` (each is AGGREGATE_SHARDS + 1 queries). */
const DAYS_AT_ONCE = 8;

const expiry = (day: string, days: number) => Math.floor((Date.parse(day) + (days + 1) * DAY_MS) / 1000);

const dayOffset = (day: string, days: number) =>
  new Date(Date.parse(day) + days * DAY_MS).toISOString().slice(0, 10);

export function daysBetween(fromDay: string, toDay: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(fromDay); t <= Date.parse(toDay); t += DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/**
 * Counters in the messages table of the jurisdiction that moved the messages, added with
 * DynamoDB's ADD (one write per tenant, day, country, mode and status in a worker's batch).
 * The tenant's counters are billing records, kept `tenantDays` (the law's period) and left in
 * place when the account closes; the gateway-wide ones `aggregateDays`.
 */
export class DynamoDbUsageLedger implements UsageLedger {
  /**
   * `client` reaches the tenants' counters (in a tenant-scoped function, with the request's
   * tenant's credentials); `gatewayClient` the gateway-wide ones, which name no tenant's partition.
   */
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly jurisdiction: Jurisdiction,
    private readonly retention: { tenantDays: number; aggregateDays: number },
    private readonly gatewayClient: DynamoDBClient = client,
  ) {}

  async add(counts: UsageCount[]): Promise<void> {
    await Promise.all(
      counts.flatMap((c) => {
        const writes: Promise<unknown>[] = [
          this.client.send(
            new UpdateItemCommand({
              TableName: this.table,
              Key: marshall({ pk: tenantPk(c.tenantId), sk: `${c.day}#${c.country}#${c.mode}` }),
              UpdateExpression: 'ADD #m :m, #s :s SET expiresAt = :e',
              ExpressionAttributeNames: { '#m': `${c.status}_m`, '#s': `${c.status}_s` },
              ExpressionAttributeValues: marshall({
                ':m': c.messages,
                ':s': c.segments,
                ':e': expiry(c.day, this.retention.tenantDays),
              }),
            }),
          ),
        ];
        if (c.mode === 'live') writes.push(this.addToAggregate(c));
        return writes;
      }),
    );
  }

  /**
   * Adds to the gateway-wide cell of the count's day, country and status. The anonymity
   * threshold needs only whether two or more tenants contributed, so the cell keeps the first
   * tenant (`<status>_t1`) and a flag once another one adds to it (`<status>_n2`, written once):
   * the item stays a few hundred bytes (one write unit an update) however many tenants send.
   * ReturnValues costs no read capacity.
   */
  private async addToAggregate(c: UsageCount): Promise<void> {
    const first = `${c.status}_t1`;
    const several = `${c.status}_n2`;
    const Key = marshall({ pk: aggregatePk(c.day, aggregateShard(c.tenantId)), sk: c.country });
    const out = await this.gatewayClient.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key,
        UpdateExpression: 'ADD #m :m, #s :s SET #t1 = if_not_exists(#t1, :t), expiresAt = :e',
        ExpressionAttributeNames: { '#m': `${c.status}_m`, '#s': `${c.status}_s`, '#t1': first },
        ExpressionAttributeValues: marshall({
          ':m': c.messages,
          ':s': c.segments,
          ':t': c.tenantId,
          ':e': expiry(c.day, this.retention.aggregateDays),
        }),
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = out.Attributes ? unmarshall(out.Attributes) : {};
    const before = old[first] ?? [...((old[`${c.status}_t`] as Set<string> | undefined) ?? [])][0];
    if (before === undefined || before === c.tenantId || old[several] === true) return;
    await this.gatewayClient.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key,
        UpdateExpression: 'SET #n = :yes',
        ExpressionAttributeNames: { '#n': several },
        ExpressionAttributeValues: marshall({ ':yes': true }),
      }),
    );
  }

  async tenant(tenantId: string, fromDay: string, toDay: string): Promise<UsageCount[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: marshall({
        ':pk': tenantPk(tenantId),
        ':from': `${fromDay}#`,
        ':to': `${toDay}#~`,
      }),
    });
    return items.flatMap((item) => {
      const raw = unmarshall(item);
      const [day, country, mode] = String(raw.sk).split('#') as [string, string, 'live' | 'test'];
      return USAGE_STATUSES.filter((status) => raw[`${status}_m`] !== undefined).map((status) => ({
        tenantId,
        jurisdiction: this.jurisdiction,
        day,
        country,
        mode,
        status,
        messages: Number(raw[`${status}_m`]),
        segments: Number(raw[`${status}_s`] ?? 0),
      }));
    });
  }

  async aggregate(fromDay: string, toDay: string): Promise<AggregateCell[]> {
    const cells: AggregateCell[] = [];
    const days = daysBetween(fromDay, toDay);
    const shards = [undefined, ...Array.from({ length: AGGREGATE_SHARDS }, (_, n) => n)];
    for (let i = 0; i < days.length; i += DAYS_AT_ONCE) {
      const reads = days.slice(i, i + DAYS_AT_ONCE).flatMap((day) =>
        shards.map(async (shard) => {
          const items = await queryAll(this.gatewayClient, {
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: marshall({ ':pk': aggregatePk(day, shard) }),
          });
          return items.flatMap((item) => cellsOf(day, unmarshall(item)));
        }),
      );
      for (const found of await Promise.all(reads)) cells.push(...found);
    }
    return cells;
  }

  /**
   * Every day a gateway-wide cell may still exist: `aggregateDays` back (and the day before, whose
   * cells live until the end of today) to tomorrow (a worker's clock ahead of this one's). Each
   * cell whose tenant sets hold the id loses it (DELETE from a set; the set's last member takes
   * the attribute with it), its counts left as they are; a cell gone meanwhile (its TTL) stays gone.
   */
  async forgetTenant(tenantId: string, today: string): Promise<number> {
    const days = daysBetween(dayOffset(today, -(this.retention.aggregateDays + 1)), dayOffset(today, 1));
    let changed = 0;
    for (let i = 0; i < days.length; i += FORGET_CONCURRENCY) {
      const counts = await Promise.all(
        days.slice(i, i + FORGET_CONCURRENCY).map((day) => this.forgetTenantOn(tenantId, day)),
      );
      changed += counts.reduce((a, b) => a + b, 0);
    }
    return changed;
  }

  /**
   * One day's cells that name the tenant: its shard's (the first tenant, `<status>_t1`, removed
   * where it is this one; the flag of several tenants stays) and the unsharded ones written before
   * the shards (the tenant taken out of each `<status>_t` set).
   */
  private async forgetTenantOn(tenantId: string, day: string): Promise<number> {
    const items = (
      await Promise.all(
        [aggregatePk(day), aggregatePk(day, aggregateShard(tenantId))].map((pk) =>
          queryAll(this.gatewayClient, {
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: marshall({ ':pk': pk }),
          }),
        ),
      )
    ).flat();
    const updated = await Promise.all(
      items.map(async (item) => {
        const raw = unmarshall(item);
        const sets = USAGE_STATUSES.map((status) => `${status}_t`).filter((name) =>
          (raw[name] as Set<string> | undefined)?.has(tenantId),
        );
        const firsts = USAGE_STATUSES.map((status) => `${status}_t1`).filter(
          (name) => raw[name] === tenantId,
        );
        if (sets.length === 0 && firsts.length === 0) return false;
        const setNames = Object.fromEntries(sets.map((name, n) => [`#t${n}`, name]));
        const firstNames = Object.fromEntries(firsts.map((name, n) => [`#f${n}`, name]));
        const clauses = [
          ...(sets.length > 0
            ? [
                `DELETE ${Object.keys(setNames)
                  .map((n) => `${n} :id`)
                  .join(', ')}`,
              ]
            : []),
          ...(firsts.length > 0 ? [`REMOVE ${Object.keys(firstNames).join(', ')}`] : []),
        ];
        const done = await unlessConditionFails(
          this.gatewayClient.send(
            new UpdateItemCommand({
              TableName: this.table,
              Key: marshall({ pk: raw.pk, sk: raw.sk }),
              UpdateExpression: clauses.join(' '),
              // An UpdateItem on a missing item would make one: a cell its TTL removed stays gone.
              // The first tenant goes only while it is still this one.
              ConditionExpression: [
                'attribute_exists(pk)',
                ...Object.keys(firstNames).map((n) => `${n} = :tenant`),
              ].join(' AND '),
              ExpressionAttributeNames: { ...setNames, ...firstNames },
              ExpressionAttributeValues: marshall({
                ...(sets.length > 0 ? { ':id': new Set([tenantId]) } : {}),
                ...(firsts.length > 0 ? { ':tenant': tenantId } : {}),
              }),
            }),
          ),
        );
        return done !== undefined;
      }),
    );
    return updated.filter(Boolean).length;
  }
}

/** One stored item's cells, a status each; the report adds up a cell's shards. */
function cellsOf(day: string, raw: Record<string, unknown>): AggregateCell[] {
  return USAGE_STATUSES.filter((status) => raw[`${status}_m`] !== undefined).map((status) => ({
    day,
    country: String(raw.sk),
    status,
    messages: Number(raw[`${status}_m`]),
    segments: Number(raw[`${status}_s`] ?? 0),
    // A cell written before the first-tenant form keeps the set of all its tenants (`_t`).
    tenantIds: [
      ...new Set([
        ...((raw[`${status}_t`] as Set<string> | undefined) ?? []),
        ...(raw[`${status}_t1`] === undefined ? [] : [String(raw[`${status}_t1`])]),
      ]),
    ],
    severalTenants: raw[`${status}_n2`] === true,
  }));
}
