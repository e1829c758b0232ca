import {
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TenantKeyUnavailableError } from '../core/crypto.ts';
import type { ApiKeyRecord, Tenant } from '../core/model.ts';
import type { ErasureRecord, SecretStore, TenantStore } from '../ports/index.ts';
import { deleteAll, getItem, isConditionFailure, putIfAbsent, queryAll } from './dynamodb-util.ts';

const PROFILE = 'PROFILE';

/**
 * The condition a write of a tenant's items in the tenants table checks (`putWhile`): its record
 * is not closed. The closure marks it closed before it sweeps the tenant's items, so a write
 * racing the closure (a key the authorizer still caches, a request in flight) lands before the
 * sweep, which removes it, or is refused.
 */
export const tenantOpen = (tenantId: string) => ({
  key: { pk: tenantId, sk: PROFILE },
  condition: 'attribute_not_exists(#status) OR #status <> :closed',
  names: { '#status': 'status' },
  values: { ':closed': 'closed' },
});
const ERASURE = 'ERASURE#';
const keySk = (id: string) => `KEY#${id}`;
const hashPk = (hash: string) => `KEYHASH#${hash}`;

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, expiresAt: _e, ...rest } = item;
  return rest as T;
}

/**
 * Tenant profiles and API keys under the tenant id, plus one look-up item per key under its
 * HMAC (the authorizer's only read path). Both copies of a key change in one transaction.
 */
export class DynamoDbTenantStore implements TenantStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async createTenant(tenant: Tenant): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshall({ pk: tenant.id, sk: PROFILE, ...tenant }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async updatePolicy(id: string, policy: Pick<Tenant, 'retention' | 'residency'>): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: marshall({ pk: id, sk: PROFILE }),
        UpdateExpression: 'SET retention = :r, residency = :m',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: marshall({ ':r': policy.retention, ':m': policy.residency }),
      }),
    );
  }

  async updateSettings(id: string, settings: Partial<Pick<Tenant, 'controls' | 'replies'>>): Promise<void> {
    const entries = Object.entries(settings).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return;
    await this.client
      .send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: id, sk: PROFILE }),
          UpdateExpression: `SET ${entries.map(([k]) => `#${k} = :${k}`).join(', ')}`,
          // Not once the account is closed (a key the authorizer still caches): see tenantOpen.
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(#status) OR #status <> :closed)',
          ExpressionAttributeNames: {
            ...Object.fromEntries(entries.map(([k]) => [`#${k}`, k])),
            '#status': 'status',
          },
          ExpressionAttributeValues: marshall({
            ...Object.fromEntries(entries.map(([k, v]) => [`:${k}`, v])),
            ':closed': 'closed',
          }),
        }),
      )
      .catch((error: unknown) => {
        if (isConditionFailure(error)) throw new TenantKeyUnavailableError(id);
        throw error;
      });
  }

  async closeTenant(id: string, closedAt: Date, recordsKeptUntil: Date): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: marshall({ pk: id, sk: PROFILE }),
        // The reply texts (HELP, keywords) are the tenant's words, and the contact address may name
        // a person: they go. The record the law requires (legal name, dates) stays.
        UpdateExpression:
          'SET #status = :closed, closedAt = if_not_exists(closedAt, :at), recordsKeptUntil = :until, expiresAt = :exp REMOVE replies, contactEmail',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({
          ':closed': 'closed',
          ':at': closedAt.toISOString(),
          ':until': recordsKeptUntil.toISOString(),
          ':exp': Math.floor(recordsKeptUntil.getTime() / 1000),
        }),
      }),
    );
  }

  /**
   * Closure: removes every item of the tenant's partition but its profile and its erasure records
   * (API keys, sender IDs and their identity details, webhook endpoints, monthly counters: every
   * store that keeps tenant items in this table keeps them under the tenant id), and each API
   * key's look-up item. Returns how many.
   */
  async removeTenant(tenantId: string): Promise<number> {
    const items = (
      await queryAll(this.client, {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: marshall({ ':pk': tenantId }),
        ProjectionExpression: 'pk, sk, #hash',
        ExpressionAttributeNames: { '#hash': 'hash' },
      })
    ).filter((i) => i.sk?.S !== PROFILE && !i.sk?.S?.startsWith(ERASURE));
    const lookUps = items.flatMap((i) =>
      i.sk?.S?.startsWith('KEY#') && i.hash?.S ? [marshall({ pk: hashPk(i.hash.S), sk: 'KEYHASH' })] : [],
    );
    return deleteAll(this.client, this.table, [
      ...items.flatMap(({ pk, sk }) => (pk && sk ? [{ pk, sk }] : [])),
      ...lookUps,
    ]);
  }

  async recordErasure(record: ErasureRecord): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshall({
          pk: record.tenantId,
          sk: `${ERASURE}${record.id}`,
          ...record,
          expiresAt: Math.floor(new Date(record.keptUntil).getTime() / 1000),
        }),
      }),
    );
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const item = await getItem(this.client, this.table, { pk: id, sk: PROFILE });
    return item ? strip<Tenant>(item) : undefined;
  }

  async listTenants(): Promise<Tenant[]> {
    const tenants: Tenant[] = [];
    let start: Record<string, never> | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'sk = :profile',
          ExpressionAttributeValues: marshall({ ':profile': PROFILE }),
          ExclusiveStartKey: start,
        }),
      );
      tenants.push(...(out.Items ?? []).map((i) => strip<Tenant>(unmarshall(i))));
      start = out.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start);
    return tenants.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async putApiKey(key: ApiKeyRecord): Promise<void> {
    await this.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              Item: marshall(
                { pk: key.tenantId, sk: keySk(key.id), ...key },
                { removeUndefinedValues: true },
              ),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: marshall(
                { pk: hashPk(key.hash), sk: 'KEYHASH', ...key },
                { removeUndefinedValues: true },
              ),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :key)',
        ExpressionAttributeValues: marshall({ ':pk': tenantId, ':key': 'KEY#' }),
      }),
    );
    return (out.Items ?? []).map((i) => strip<ApiKeyRecord>(unmarshall(i)));
  }

  async getApiKey(tenantId: string, keyId: string): Promise<ApiKeyRecord | undefined> {
    const item = await getItem(this.client, this.table, { pk: tenantId, sk: keySk(keyId) });
    return item ? strip<ApiKeyRecord>(item) : undefined;
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const item = await getItem(
      this.client,
      this.table,
      { pk: hashPk(hash), sk: 'KEYHASH' },
      { consistent: false },
    );
    return item ? strip<ApiKeyRecord>(item) : undefined;
  }

  async expireApiKey(tenantId: string, keyId: string, notAfter: Date, replacedBy?: string): Promise<void> {
    const key = await this.getApiKey(tenantId, keyId);
    if (!key) return;
    const update = {
      UpdateExpression: `SET notAfter = :at${replacedBy ? ', replacedBy = :by' : ''}`,
      // Never extend a key's life: an earlier revocation wins over a later rotation's grace.
      ConditionExpression: 'attribute_not_exists(notAfter) OR notAfter > :at',
      ExpressionAttributeValues: marshall({
        ':at': notAfter.toISOString(),
        ...(replacedBy ? { ':by': replacedBy } : {}),
      }),
    };
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: { TableName: this.table, Key: marshall({ pk: tenantId, sk: keySk(keyId) }), ...update },
            },
            {
              Update: {
                TableName: this.table,
                Key: marshall({ pk: hashPk(key.hash), sk: 'KEYHASH' }),
                ...update,
              },
            },
          ],
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'TransactionCanceledException' && !isConditionFailure(error)) throw error;
    }
  }
}

/** KMS-wrapped gateway secrets, in the tenants table under a SYSTEM partition no tenant id can equal. */
export class DynamoDbSecretStore implements SecretStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async getWrapped(name: string): Promise<Uint8Array | undefined> {
    const item = await getItem(this.client, this.table, { pk: 'SYSTEM', sk: `SECRET#${name}` });
    return item?.wrapped as Uint8Array | undefined;
  }

  async put(name: string, value: Uint8Array): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshall({ pk: 'SYSTEM', sk: `SECRET#${name}`, wrapped: value }),
      }),
    );
  }

  async putWrappedIfAbsent(name: string, wrapped: Uint8Array): Promise<Uint8Array> {
    return putIfAbsent(
      this.client,
      this.table,
      { pk: 'SYSTEM', sk: `SECRET#${name}`, wrapped },
      wrapped,
      () => this.getWrapped(name),
    );
  }
}
