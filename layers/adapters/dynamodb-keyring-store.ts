import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { KeyringRecord, KeyringStore } from '../ports/index.ts';
import { getItem, putIfAbsent } from './dynamodb-util.ts';

export const KEYRING_SK = 'KEYRING';

/**
 * The condition a write of a tenant's data in a messages table checks (`putWhile`): its keyring
 * there is not closed. The closure marks it closed before it sweeps the table, so a write racing
 * the closure (an instance still holding the tenant's key, a key the authorizer still caches)
 * lands before the sweep, which removes it, or is refused.
 */
export const keyringOpen = (tenantId: string) => ({
  key: { pk: tenantId, sk: KEYRING_SK },
  condition: 'attribute_not_exists(closedAt)',
});

/**
 * A tenant's key in one jurisdiction, kept in that jurisdiction's messages table beside the
 * tenant's messages (same partition key). It holds no personal data: a key ARN and the
 * pseudonym secret wrapped by that key.
 */
export class DynamoDbKeyringStore implements KeyringStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async get(tenantId: string): Promise<KeyringRecord | undefined> {
    const item = await getItem(this.client, this.table, { pk: tenantId, sk: KEYRING_SK });
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...record } = item;
    return record as KeyringRecord;
  }

  async putIfAbsent(record: KeyringRecord): Promise<KeyringRecord> {
    return putIfAbsent(
      this.client,
      this.table,
      { pk: record.tenantId, sk: KEYRING_SK, ...record },
      record,
      () => this.get(record.tenantId),
    );
  }

  async markClosed(tenantId: string, closedAt: Date, deletionDate: Date): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: marshall({ pk: tenantId, sk: KEYRING_SK }),
        UpdateExpression: 'SET closedAt = :c, deletionDate = :d',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: marshall({
          ':c': closedAt.toISOString(),
          ':d': deletionDate.toISOString(),
        }),
      }),
    );
  }
}
