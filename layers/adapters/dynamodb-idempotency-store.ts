import { createHmac } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { IdempotencyKeyScope } from '#functions/messages/ports.ts';
import type { TenantCrypto } from '../core/crypto.ts';
import { IdempotencyConflictError, IdempotencyInProgressError } from '../core/errors.ts';
import type { StoredResult } from '../core/model.ts';
import type { IdempotencyBegin, IdempotencyStore } from '../ports/index.ts';
import {
  deleteAll,
  epochSeconds,
  isConditionFailure,
  queryAll,
  queryPrefix,
  unlessConditionFails,
} from './dynamodb-util.ts';

const sk = (key: string) => `IDEM#${key}`;

export interface IdempotencyOptions {
  /** How long a key is remembered. */
  ttlSeconds: number;
  /** How long an unfinished attempt holds its key before a retry may take over. */
  leaseSeconds: number;
}

/**
 * Idempotency records sit beside the tenant's messages (same partition key, so one tenant's
 * key can never match another's). Results are gzipped (a 1,000-message batch result stays far
 * below DynamoDB's 400 KB item limit) and sealed under the tenant's key, since they name
 * recipients; the recipients' pseudonyms let an erasure find them.
 */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly crypto: TenantCrypto,
    private readonly options: IdempotencyOptions = { ttlSeconds: 86_400, leaseSeconds: 60 },
  ) {}

  async begin(
    tenantId: string,
    key: string,
    requestHash: string,
    messageIds: string[],
    now: Date,
  ): Promise<IdempotencyBegin> {
    // The request is known by a keyed digest of its hash: a plain hash of a number, a sender and
    // a short body (a code) could be reversed by guessing. Records written before held the plain
    // hash (`legacy`); they are still recognised until they expire (ttlSeconds).
    const fingerprint = await this.crypto.keyedDigest(tenantId, 'idempotency-request', requestHash);
    const matches = (stored: unknown) => stored === fingerprint || stored === requestHash;
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: marshall({ pk: tenantId, sk: sk(key) }),
            UpdateExpression:
              'SET requestHash = if_not_exists(requestHash, :hash), messageIds = if_not_exists(messageIds, :ids), #state = :pending, leaseUntil = :lease, expiresAt = if_not_exists(expiresAt, :exp)',
            ConditionExpression:
              'attribute_not_exists(pk) OR (#state = :pending AND leaseUntil < :now AND requestHash IN (:hash, :legacy))',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: marshall({
              ':hash': fingerprint,
              ':legacy': requestHash,
              ':ids': messageIds,
              ':pending': 'pending',
              ':lease': now.getTime() + this.options.leaseSeconds * 1000,
              ':exp': epochSeconds(now) + this.options.ttlSeconds,
              ':now': now.getTime(),
            }),
            ReturnValues: 'ALL_OLD',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const previous = out.Attributes ? unmarshall(out.Attributes) : undefined;
        return previous
          ? { state: 'started', messageIds: previous.messageIds as string[], takeover: true }
          : { state: 'started', messageIds, takeover: false };
      } catch (error) {
        if (!isConditionFailure(error) || !error.Item) throw error;
        const old = unmarshall(error.Item);
        if ((old.expiresAt as number) <= epochSeconds(now) && attempt === 0) {
          // An expired record (DynamoDB's TTL deletes late) frees its key.
          await this.release(tenantId, key);
          continue;
        }
        if (!matches(old.requestHash)) throw new IdempotencyConflictError();
        if (old.state === 'completed') {
          const zipped = await this.crypto.open(tenantId, 'idempotency', sk(key), {
            dataKey: old.dk as Uint8Array,
            blob: old.result as Uint8Array,
          });
          const result = JSON.parse(gunzipSync(zipped).toString('utf8')) as StoredResult;
          return { state: 'replay', result };
        }
        throw new IdempotencyInProgressError();
      }
    }
  }

  async complete(
    tenantId: string,
    key: string,
    result: StoredResult,
    _now: Date,
    subjects: string[] = [],
  ): Promise<void> {
    const sealed = await this.crypto.seal(tenantId, 'idempotency', sk(key), gzipSync(JSON.stringify(result)));
    const pseudonyms = await Promise.all(
      [...new Set(subjects)].map((s) => this.crypto.pseudonym(tenantId, s)),
    );
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: marshall({ pk: tenantId, sk: sk(key) }),
        UpdateExpression: `SET #state = :done, #result = :result, dk = :dk${pseudonyms.length > 0 ? ', subjects = :subjects' : ''} REMOVE leaseUntil, messageIds`,
        ExpressionAttributeNames: { '#state': 'state', '#result': 'result' },
        ExpressionAttributeValues: marshall({
          ':done': 'completed',
          ':result': sealed.blob,
          ':dk': sealed.dataKey,
          ...(pseudonyms.length > 0 ? { ':subjects': new Set(pseudonyms as string[]) } : {}),
        }),
      }),
    );
  }

  async removeForSubject(tenantId: string, e164: string): Promise<number> {
    const pseudonym = await this.crypto.pseudonym(tenantId, e164, false);
    if (pseudonym === undefined) return 0;
    const keys = await queryPrefix(this.client, this.table, tenantId, 'IDEM#', {
      filter: 'contains(subjects, :subject)',
      values: { ':subject': pseudonym },
      projection: 'pk, sk',
    });
    return deleteAll(this.client, this.table, keys);
  }

  async endLease(tenantId: string, key: string): Promise<void> {
    // Completed after all (or gone: the condition fails): nothing to hand over.
    await unlessConditionFails(
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: tenantId, sk: sk(key) }),
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall({ ':zero': 0, ':pending': 'pending' }),
        }),
      ),
    );
  }

  async release(tenantId: string, key: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.table, Key: marshall({ pk: tenantId, sk: sk(key) }) }),
    );
  }
}

/** The partition of a tenant's Idempotency-Key claims in the tenants table: `IDEMKEY#<tenant id>`. */
export const CLAIMS_PARTITION_PREFIX = 'IDEMKEY#';

/**
 * The tenant-wide scope of Idempotency-Keys, in the (global) tenants table, which both regions'
 * functions reach. An item holds only HMACs under a system secret: of the tenant and key (its
 * sort key) and of the request (its fingerprint); never a number or a body, so an EU subject's
 * request leaves nothing personal in the global region. It lives as long as the key's record.
 */
export class DynamoDbIdempotencyKeyScope implements IdempotencyKeyScope {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly secret: () => Promise<Uint8Array>,
    private readonly ttlSeconds = 86_400,
  ) {}

  private async mac(...parts: string[]) {
    return createHmac('sha256', await this.secret())
      .update(['idempotency', ...parts].join('\0'))
      .digest('base64url');
  }

  /** Closure: the tenant's claims, before their day is out. */
  async removeTenant(tenantId: string): Promise<number> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': `${CLAIMS_PARTITION_PREFIX}${tenantId}` }),
      ProjectionExpression: 'pk, sk',
    });
    return deleteAll(this.client, this.table, items);
  }

  private async itemKey(tenantId: string, key: string) {
    return marshall({
      pk: `${CLAIMS_PARTITION_PREFIX}${tenantId}`,
      sk: await this.mac('key', tenantId, key),
    });
  }

  async claim(tenantId: string, key: string, requestHash: string, now: Date): Promise<boolean> {
    const fingerprint = await this.mac('request', tenantId, key, requestHash);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...(await this.itemKey(tenantId, key)),
            ...marshall({ fp: fingerprint, expiresAt: epochSeconds(now) + this.ttlSeconds }),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR fp = :fp OR expiresAt <= :now',
          ExpressionAttributeValues: marshall({ ':fp': fingerprint, ':now': epochSeconds(now) }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async release(tenantId: string, key: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.table, Key: await this.itemKey(tenantId, key) }),
    );
  }
}
