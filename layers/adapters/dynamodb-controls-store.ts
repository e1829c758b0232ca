import {
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TenantKeyUnavailableError } from '../core/crypto.ts';
import type { Sealed } from '../core/model.ts';
import type { Counters, SenderIdDecision, SenderIdRecord, SenderIdStore } from '../ports/index.ts';
import { tenantOpen } from './dynamodb-tenant-store.ts';
import { epochSeconds, getItem, isConditionFailure, putWhile } from './dynamodb-util.ts';

/**
 * Request rates and monthly usage in the tenants table. The rate limit is GCRA (a token bucket
 * kept as one "theoretical arrival time"), updated with conditional writes so that every
 * function instance shares it exactly: no read-modify-write race, one write per admitted request.
 *
 * In a global table (`regions`), each region writes only its own items (concurrent writes to one
 * item from two regions would lose one: global tables keep the last writer's) and reads the other
 * regions' replicated items to count the total: a tenant's rate and monthly cap hold across
 * regions up to what the other region admitted within the replication lag (typically under a
 * second).
 */
export interface CounterRegions {
  /** The region this instance writes its items in. */
  own: string;
  /** Every replica's region; the first keeps the unsuffixed item keys (those from before). */
  all: readonly string[];
}

export class DynamoDbCounters implements Counters {
  /**
   * Buckets this instance saw full, by key and limits: the time before which the shared bucket
   * cannot admit anything (other instances only move it further on). A tenant flooding the API
   * is refused from memory until then, so its refusals cost no DynamoDB write and do not contend
   * with other tenants' requests. Raising a tenant's limit changes the key, so it applies at once.
   */
  private readonly refusedUntil = new Map<string, number>();

  /**
   * The arrival time each bucket had after this instance last moved it. When that is already in
   * the past (the bucket idle: a tenant sending below its rate), the next request tries the
   * write that restarts the bucket first, so it takes one conditional write, not a failed one
   * and then that. Only the order of the two writes depends on it: each stays exact.
   */
  private readonly lastTat = new Map<string, number>();

  /** The latest arrival time of the other regions' buckets this instance read, by key. */
  private readonly seenElsewhere = new Map<string, number>();
  /** What this instance last read of the other regions' segments of a tenant's month (`tenant|month`). */
  private readonly usageElsewhere = new Map<string, number>();

  /**
   * @param client the rate buckets' (`RATE#...`, gateway-wide).
   * @param usageClient the tenants' monthly counters' (`<tenant>` / `USAGE#...`): a tenant-scoped
   *   function's is the request tenant's credentials; `client` when not given.
   */
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly regions?: CounterRegions,
    private readonly usageClient: DynamoDBClient = client,
  ) {}

  /** A counter item's sort key in a region (unsuffixed in the first, and without regions). */
  private sk(base: string, region = this.regions?.own) {
    return !this.regions || region === this.regions.all[0] ? base : `${base}@${region}`;
  }

  /** The other regions' replicated items of a counter (eventually consistent: the replicas). */
  private async elsewhere(
    pk: string,
    base: string,
    client = this.client,
  ): Promise<Record<string, unknown>[]> {
    const others = (this.regions?.all ?? []).filter((r) => r !== this.regions?.own);
    const items = await Promise.all(
      others.map((r) => getItem(client, this.table, { pk, sk: this.sk(base, r) }, { consistent: false })),
    );
    return items.filter((item) => item !== undefined);
  }

  private async setTat(key: string, expression: string, condition: string, values: Record<string, number>) {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: `RATE#${key}`, sk: this.sk('RATE') }),
          UpdateExpression: `${expression}, expiresAt = :exp`,
          ConditionExpression: condition,
          ExpressionAttributeValues: marshall(values),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true as const };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { ok: false as const, tat: error.Item ? Number(unmarshall(error.Item).tat) : undefined };
    }
  }

  /** Removes the bucket in every region (a closed account's): the others' deletes replicate. */
  async removeBucket(key: string): Promise<void> {
    const regions = this.regions?.all ?? [undefined];
    for (const region of regions) {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: marshall({ pk: `RATE#${key}`, sk: this.sk('RATE', region) }),
        }),
      );
    }
  }

  async admit(key: string, perMinute: number, burst: number, now: Date) {
    const interval = 60_000 / perMinute;
    const nowMs = now.getTime();
    const limit = nowMs + (burst - 1) * interval;
    const exp = epochSeconds(now) + Math.ceil((burst * interval) / 1000) + 3_600;
    const memo = `${key}|${perMinute}|${burst}`;
    const until = this.refusedUntil.get(memo);
    if (until !== undefined) {
      if (nowMs < until)
        return { ok: false as const, retryAfterSeconds: Math.max(1, Math.ceil((until - nowMs) / 1000)) };
      this.refusedUntil.delete(memo);
    }
    // The bucket is shared by the regions: each keeps the arrival time as it last moved it, and
    // moves on from the latest of all (the others' replicated items), so together they admit what
    // one bucket would, but for what another region admitted within the replication lag. The
    // others' items are read while this region's write is made, from what this instance last
    // read of them; only when they moved past that is the bucket set again (see below).
    const assumed = this.seenElsewhere.get(key) ?? 0;
    const [outcome, elsewhere] = await Promise.all([
      this.decide(key, memo, nowMs, assumed, interval, limit, exp),
      this.elsewhere(`RATE#${key}`, 'RATE').then((items) => Math.max(0, ...items.map((i) => Number(i.tat)))),
    ]);
    if (this.seenElsewhere.size >= 10_000) this.seenElsewhere.clear();
    this.seenElsewhere.set(key, elsewhere);
    if (elsewhere <= Math.max(nowMs, assumed) || !outcome.ok) return outcome;
    // Another region moved the bucket on past what this instance assumed: what the write decided
    // is checked against it, and this region's arrival time brought up to where deciding from it
    // would have put it, one interval past it (one more write, only then). Stopping short of
    // that (at the other's arrival time) would let requests that alternate between the regions
    // count once for two. The other region's item never holds this request: it is read while
    // this one is written.
    if (elsewhere > limit) return this.refuse(memo, elsewhere, nowMs, limit);
    this.lastTat.delete(key);
    await this.setTat(key, 'SET tat = :next', 'attribute_not_exists(tat) OR tat < :next', {
      ':next': elsewhere + interval,
      ':exp': exp,
    });
    return outcome;
  }

  private refuse(memo: string, tat: number, nowMs: number, limit: number) {
    if (this.refusedUntil.size >= 10_000) this.refusedUntil.clear();
    this.refusedUntil.set(memo, tat - (limit - nowMs));
    return { ok: false as const, retryAfterSeconds: Math.max(1, Math.ceil((tat - limit) / 1000)) };
  }

  /** Admits one request into this region's bucket, the other regions' taken to be at `elsewhere`. */
  private async decide(
    key: string,
    memo: string,
    nowMs: number,
    elsewhere: number,
    interval: number,
    limit: number,
    exp: number,
  ): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }> {
    const base = Math.max(nowMs, elsewhere);
    const refuse = (tat: number) => this.refuse(memo, tat, nowMs, limit);
    if (base > limit) return refuse(base);
    const step = () =>
      // A bucket in use: move its arrival time on by one interval if that stays within the burst.
      this.setTat(key, 'SET tat = tat + :i', 'tat >= :base AND tat <= :limit', {
        ':i': interval,
        ':base': base,
        ':limit': limit,
        ':exp': exp,
      });
    const fresh = () =>
      // A new or idle bucket (full), or one behind another region's: start from now, or from that.
      this.setTat(key, 'SET tat = :next', 'attribute_not_exists(tat) OR tat < :base', {
        ':next': base + interval,
        ':base': base,
        ':exp': exp,
      });
    /** Admitted: what this instance now knows of the bucket's arrival time (see lastTat). */
    const admitted = (tat: number | undefined) => {
      if (this.lastTat.size >= 10_000) this.lastTat.clear();
      if (tat === undefined) this.lastTat.delete(key);
      else this.lastTat.set(key, tat);
      return { ok: true as const };
    };
    const known = this.lastTat.get(key);
    if (known !== undefined && known < base && (await fresh()).ok) return admitted(base + interval);
    for (let attempt = 0; attempt < 3; attempt++) {
      const stepped = await step();
      // (Moved on from a value this instance does not read back.)
      if (stepped.ok) return admitted(undefined);
      if (stepped.tat !== undefined && stepped.tat > limit) return refuse(stepped.tat);
      if ((await fresh()).ok) return admitted(base + interval);
      // Another request moved the bucket between the two writes: read it again.
    }
    return { ok: false as const, retryAfterSeconds: 1 };
  }

  /**
   * Adds a month's segments under a cap shared by the regions, in one round trip: the other
   * regions' items (replicated) are read while this region's is written, on the assumption of
   * what this instance last read of them. Only when they moved past it, and the total is then over
   * the cap, is the add given back (one more write, only then). When the assumption alone leaves
   * no room, they are read first, as they may have gone down (segments given back).
   */
  async addUsage(tenantId: string, month: string, segments: number, cap: number): Promise<boolean> {
    if (cap <= 0) {
      await this.addSegments(tenantId, month, segments);
      return true;
    }
    const memo = `${tenantId}|${month}`;
    const elsewhereNow = async () => {
      const items = await this.elsewhere(tenantId, `USAGE#${month}`, this.usageClient);
      const sum = items.reduce((n, i) => n + Number(i.segments ?? 0), 0);
      if (this.usageElsewhere.size >= 10_000) this.usageElsewhere.clear();
      this.usageElsewhere.set(memo, sum);
      return sum;
    };
    let assumed = this.usageElsewhere.get(memo);
    if (assumed === undefined || assumed + segments > cap) assumed = await elsewhereNow();
    if (assumed + segments > cap) return false;
    const [added, elsewhere] = await Promise.all([
      this.addSegments(tenantId, month, segments, cap - assumed),
      elsewhereNow(),
    ]);
    if (added === undefined) {
      // Refused on the assumption: with less counted elsewhere than assumed, there may be room.
      if (elsewhere >= assumed || elsewhere + segments > cap) return false;
      return (await this.addSegments(tenantId, month, segments, cap - elsewhere)) !== undefined;
    }
    if (elsewhere <= assumed || added + elsewhere <= cap) return true;
    // Another region counted past what this instance assumed, and the total is over the cap.
    await this.addSegments(tenantId, month, -segments);
    return false;
  }

  /**
   * Adds to this region's item of a month's segments; with `cap` (this region's room), only if the
   * total stays within it. Returns the new total, or undefined when the cap refused.
   */
  private async addSegments(tenantId: string, month: string, segments: number, cap = 0) {
    try {
      const out = await this.usageClient.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: tenantId, sk: this.sk(`USAGE#${month}`) }),
          UpdateExpression: 'ADD #segments :n',
          ExpressionAttributeNames: { '#segments': 'segments' },
          ReturnValues: 'UPDATED_NEW',
          ...(cap > 0
            ? {
                ConditionExpression: 'attribute_not_exists(#segments) OR #segments <= :room',
                ExpressionAttributeValues: marshall({ ':n': segments, ':room': cap - segments }),
              }
            : { ExpressionAttributeValues: marshall({ ':n': segments }) }),
        }),
      );
      return Number(out.Attributes?.segments?.N ?? segments);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return undefined;
    }
  }
}

const senderSk = (id: string) => `SENDERID#${id}`;
const identitySk = (id: string) => `SENDERID#${id}#IDENTITY`;

/**
 * Sender ID applications under the tenant's partition; the identity details are a separate,
 * sealed item whose TTL purges them a configured time after the decision.
 */
export class DynamoDbSenderIdStore implements SenderIdStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  /** Written only while the account is open (see tenantOpen); a closed one's is refused. */
  async apply(record: SenderIdRecord, identity: Sealed, keepUntil: Date): Promise<void> {
    const open = tenantOpen(record.tenantId);
    const identityItem = {
      pk: record.tenantId,
      sk: identitySk(record.id),
      dk: identity.dataKey,
      sealed: identity.blob,
      expiresAt: epochSeconds(keepUntil),
    };
    if ((await putWhile(this.client, this.table, open, { item: identityItem })) === 'check') {
      throw new TenantKeyUnavailableError(record.tenantId);
    }
    const written = await putWhile(this.client, this.table, open, {
      item: { pk: record.tenantId, sk: senderSk(record.id), ...record },
      condition: 'attribute_not_exists(pk)',
    });
    if (written === 'check') throw new TenantKeyUnavailableError(record.tenantId);
    if (written === 'put') throw new Error(`Sender ID ${record.id} exists already`);
  }

  async get(tenantId: string, id: string): Promise<SenderIdRecord | undefined> {
    const item = await getItem(this.client, this.table, { pk: tenantId, sk: senderSk(id) });
    return item ? strip(item) : undefined;
  }

  async identity(tenantId: string, id: string, now: Date): Promise<Sealed | undefined> {
    const raw = await getItem(this.client, this.table, { pk: tenantId, sk: identitySk(id) });
    if (!raw) return undefined;
    if (!(raw.expiresAt > epochSeconds(now))) return undefined;
    return { dataKey: raw.dk, blob: raw.sealed };
  }

  async list(tenantId: string): Promise<SenderIdRecord[]> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        FilterExpression: 'attribute_exists(#status)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({ ':pk': tenantId, ':p': 'SENDERID#' }),
      }),
    );
    return (out.Items ?? []).map((i) => strip(unmarshall(i)));
  }

  /** An operator's queue: a scan, as applications are few and the admin route is rare. */
  async listPending(): Promise<SenderIdRecord[]> {
    const found: SenderIdRecord[] = [];
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'begins_with(sk, :p) AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':p': 'SENDERID#', ':pending': 'pending' }),
          ExclusiveStartKey: start,
        }),
      );
      found.push(...(out.Items ?? []).map((i) => strip(unmarshall(i))));
      start = out.LastEvaluatedKey;
    } while (start);
    return found.sort((a, b) => a.appliedAt.localeCompare(b.appliedAt));
  }

  async decide(tenantId: string, id: string, decision: SenderIdDecision): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: marshall({ pk: tenantId, sk: senderSk(id) }),
        UpdateExpression: 'SET #status = :s, decidedAt = :at, identityPurgeAt = :purge, reason = :r',
        ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({
          ':s': decision.status,
          ':at': decision.decidedAt.toISOString(),
          ':purge': decision.purgeAt.toISOString(),
          ':r': decision.reason ?? null,
          ':pending': 'pending',
        }),
      }),
    );
    // The identity details were needed for the decision only: they go at the purge date.
    await this.client
      .send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: tenantId, sk: identitySk(id) }),
          UpdateExpression: 'SET expiresAt = :exp',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: marshall({ ':exp': epochSeconds(decision.purgeAt) }),
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }
}

function strip(raw: Record<string, unknown>): SenderIdRecord {
  const { pk: _pk, sk: _sk, ...rest } = raw;
  if (rest.reason === null) delete rest.reason;
  return rest as unknown as SenderIdRecord;
}
