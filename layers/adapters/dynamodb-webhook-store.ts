import { randomBytes } from 'node:crypto';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { WebhookEndpoint, WebhookSecret } from '#functions/webhooks/model.ts';
import type { WebhookHistory, WebhookStore } from '#functions/webhooks/ports.ts';
import { type TenantCrypto, TenantKeyUnavailableError } from '../core/crypto.ts';
import { CURSORS } from '../core/cursors.ts';
import type { WebhookAttempt } from '../ports/index.ts';
import { keyringOpen } from './dynamodb-keyring-store.ts';
import { tenantOpen } from './dynamodb-tenant-store.ts';
import {
  cancellationReasons,
  conditionCheck,
  deleteAll,
  getItem,
  putWhile,
  queryAll,
  readCursor,
} from './dynamodb-util.ts';

const endpointSk = (id: string) => `WEBHOOK#${id}`;
/** The EU copy of an endpoint's secrets: its own item (not `WEBHOOK#`, which lists endpoints). */
const euCopySk = (id: string) => `WEBHOOKEU#${id}`;
/** Endpoints written before secrets had a revision. */
const FIRST_REVISION = '0';

type Sealer = Pick<TenantCrypto, 'seal' | 'open'>;

/**
 * Endpoints in the tenants table (a global table) beside the tenant's settings. The signing
 * secrets are sealed under the tenant's global key on the endpoint's item, with a revision that
 * changes at every write. The EU region keeps its own copy, sealed under the tenant's EU key, on
 * a second item that names the revision it copies, so the EU webhook worker opens a secret
 * without calling the global region's KMS (a us-east-1 outage leaves EU deliveries going).
 *
 * The copy is a separate item, not attributes of the endpoint's: global tables settle concurrent
 * writes to one item by the last writer, whole item, so an EU worker adding its copy to the item
 * just as a rotation lands in us-east-1 could bring the old secrets back. Apart, a late copy of
 * an old revision is only stale: it names a revision that is no longer the endpoint's, and is
 * never used.
 */
export class DynamoDbWebhookStore implements WebhookStore {
  /**
   * @param crypto the tenant's global key (every region opens the global copy).
   * @param eu the tenant's EU key, in the EU region only: there, writes seal both copies and reads
   *   use (or make) the EU copy.
   */
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly crypto: Sealer,
    private readonly eu?: Sealer,
  ) {}

  /** Orders revisions by time (a copy never replaces a newer one); the suffix tells apart the same millisecond. */
  private revision() {
    return `${new Date().toISOString()}#${randomBytes(4).toString('hex')}`;
  }

  async put(endpoint: WebhookEndpoint, secrets: WebhookSecret[]): Promise<void> {
    const sk = endpointSk(endpoint.id);
    const plaintext = JSON.stringify(secrets);
    const rev = this.revision();
    const [sealed, euSealed] = await Promise.all([
      this.crypto.seal(endpoint.tenantId, 'webhook', sk, plaintext),
      this.eu?.seal(endpoint.tenantId, 'webhook', euCopySk(endpoint.id), plaintext),
    ]);
    const euKey = marshall({ pk: endpoint.tenantId, sk: euCopySk(endpoint.id) });
    // Only while the account is open (see tenantOpen): a closed one's endpoint is refused.
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            conditionCheck(this.table, tenantOpen(endpoint.tenantId)),
            {
              Put: {
                TableName: this.table,
                Item: marshall(
                  { pk: endpoint.tenantId, sk, ...endpoint, rev, dk: sealed.dataKey, sealed: sealed.blob },
                  { removeUndefinedValues: true },
                ),
              },
            },
            // Written in the EU: both copies at once. Elsewhere the EU copy of the secrets this
            // replaces goes (it would be stale anyway); the EU worker makes the next one.
            euSealed
              ? {
                  Put: {
                    TableName: this.table,
                    Item: marshall({
                      ...unmarshall(euKey),
                      rev,
                      dk: euSealed.dataKey,
                      sealed: euSealed.blob,
                    }),
                  },
                }
              : { Delete: { TableName: this.table, Key: euKey } },
          ],
        }),
      );
    } catch (error) {
      if (cancellationReasons(error)?.[0] === 'ConditionalCheckFailed') {
        throw new TenantKeyUnavailableError(endpoint.tenantId);
      }
      throw error;
    }
  }

  async get(tenantId: string, id: string) {
    const sk = endpointSk(id);
    const read = (itemSk: string) =>
      getItem(this.client, this.table, { pk: tenantId, sk: itemSk }, { consistent: false });
    const [item, copy] = await Promise.all([read(sk), this.eu ? read(euCopySk(id)) : undefined]);
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, rev = FIRST_REVISION, dk, sealed, ...endpoint } = item;
    const secrets = (plaintext: Buffer) => JSON.parse(plaintext.toString('utf8')) as WebhookSecret[];
    if (!this.eu) {
      return {
        endpoint: endpoint as WebhookEndpoint,
        secrets: secrets(await this.crypto.open(tenantId, 'webhook', sk, { dataKey: dk, blob: sealed })),
      };
    }
    if (copy && copy.rev === rev) {
      return {
        endpoint: endpoint as WebhookEndpoint,
        secrets: secrets(
          await this.eu.open(tenantId, 'webhook', euCopySk(id), { dataKey: copy.dk, blob: copy.sealed }),
        ),
      };
    }
    // No copy of this revision here yet: the global copy (the global region's KMS, which the EU
    // region may call), sealed again under the EU key for every later delivery.
    const plaintext = await this.crypto.open(tenantId, 'webhook', sk, { dataKey: dk, blob: sealed });
    await this.storeEuCopy(tenantId, id, rev, plaintext);
    return { endpoint: endpoint as WebhookEndpoint, secrets: secrets(plaintext) };
  }

  /**
   * The EU copy of revision `rev`, unless a copy of that or a newer revision is there already
   * (a rotation at the EU endpoint, or another worker, got there first: theirs stays), and only
   * while the endpoint is still there: a delivery in flight when the endpoint is removed or the
   * account closed (the sweep of the tenant's items) leaves no copy behind.
   */
  private async storeEuCopy(tenantId: string, id: string, rev: string, plaintext: Buffer) {
    if (!this.eu) return;
    const euSealed = await this.eu.seal(tenantId, 'webhook', euCopySk(id), plaintext);
    await putWhile(
      this.client,
      this.table,
      { key: { pk: tenantId, sk: endpointSk(id) }, condition: 'attribute_exists(pk)' },
      {
        item: { pk: tenantId, sk: euCopySk(id), rev, dk: euSealed.dataKey, sealed: euSealed.blob },
        condition: 'attribute_not_exists(rev) OR rev < :rev',
        values: { ':rev': rev },
      },
    );
  }

  async list(tenantId: string): Promise<WebhookEndpoint[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: marshall({ ':pk': tenantId, ':p': 'WEBHOOK#' }),
      ProjectionExpression: 'tenantId, id, #url, events, description, createdAt',
      ExpressionAttributeNames: { '#url': 'url' },
    });
    return items.map((i) => unmarshall(i) as WebhookEndpoint);
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    const [out] = await Promise.all([
      this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: marshall({ pk: tenantId, sk: endpointSk(id) }),
          ReturnValues: 'ALL_OLD',
        }),
      ),
      this.client.send(
        new DeleteItemCommand({ TableName: this.table, Key: marshall({ pk: tenantId, sk: euCopySk(id) }) }),
      ),
    ]);
    return out.Attributes !== undefined;
  }
}

const historyPk = (tenantId: string) => `${tenantId}#webhooks`;
const historySk = (endpointId: string, deliveryId: string) => `D#${endpointId}#${deliveryId}`;

/** Each delivery's latest attempt, in the messages table of the jurisdiction that delivered it. */
export class DynamoDbWebhookHistory implements WebhookHistory {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  /**
   * Written only while the tenant's keyring in this table is open: a delivery still in flight
   * when the account closes (its endpoint read before, its HTTP attempt taking seconds) leaves
   * no history behind the closure, which marks the keyring closed before it sweeps the table.
   * False when the keyring is closed.
   */
  async record(attempt: WebhookAttempt, expiresAt: number): Promise<boolean> {
    const item = {
      pk: historyPk(attempt.tenantId),
      sk: historySk(attempt.endpointId, attempt.deliveryId),
      ...attempt,
      expiresAt,
    };
    return (await putWhile(this.client, this.table, keyringOpen(attempt.tenantId), { item })) === 'written';
  }

  /** Closure: every delivery attempt of the tenant's endpoints. */
  async removeTenant(tenantId: string): Promise<number> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': historyPk(tenantId) }),
      ProjectionExpression: 'pk, sk',
      // Sees every attempt recorded before the keyring closed (an eventually consistent read
      // might not).
      ConsistentRead: true,
    });
    return deleteAll(this.client, this.table, items);
  }

  async list(tenantId: string, endpointId: string, page: { limit: number; cursor?: string | undefined }) {
    let startKey: Record<string, unknown> | undefined;
    if (page.cursor) {
      const id = readCursor(CURSORS.webhookDeliveries, page.cursor);
      startKey = { pk: historyPk(tenantId), sk: historySk(endpointId, id) };
    }
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: marshall({ ':pk': historyPk(tenantId), ':p': `D#${endpointId}#` }),
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: startKey ? marshall(startKey) : undefined,
      }),
    );
    const items = (out.Items ?? []).map((i) => {
      const { pk: _pk, sk: _sk, expiresAt: _e, ...attempt } = unmarshall(i);
      return attempt as WebhookAttempt;
    });
    const last = items.at(-1);
    return {
      items,
      ...(out.LastEvaluatedKey && last
        ? { nextCursor: CURSORS.webhookDeliveries.write(last.deliveryId) }
        : {}),
    };
  }
}
