import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { TenantCrypto } from '../core/crypto.ts';
import { CURSORS } from '../core/cursors.ts';
import { ValidationError } from '../core/errors.ts';
import type { WebhookEndpoint, WebhookSecret } from '../core/webhooks.ts';
import type { WebhookAttempt, WebhookHistory, WebhookStore } from '../ports/index.ts';
import { deleteAll, queryAll } from './dynamodb-util.ts';

const endpointSk = (id: string) => `WEBHOOK#${id}`;

/**
 * Endpoints in the tenants table beside the tenant's settings; the signing secrets sealed under
 * the tenant's key (global jurisdiction: a secret is no one's personal data).
 */
export class DynamoDbWebhookStore implements WebhookStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly crypto: TenantCrypto,
  ) {}

  async put(endpoint: WebhookEndpoint, secrets: WebhookSecret[]): Promise<void> {
    const sk = endpointSk(endpoint.id);
    const sealed = await this.crypto.seal(endpoint.tenantId, 'webhook', sk, JSON.stringify(secrets));
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshall(
          { pk: endpoint.tenantId, sk, ...endpoint, dk: sealed.dataKey, sealed: sealed.blob },
          {
            removeUndefinedValues: true,
          },
        ),
      }),
    );
  }

  async get(tenantId: string, id: string) {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: marshall({ pk: tenantId, sk: endpointSk(id) }) }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk, dk, sealed, ...endpoint } = unmarshall(out.Item);
    const secrets = JSON.parse(
      (await this.crypto.open(tenantId, 'webhook', sk, { dataKey: dk, blob: sealed })).toString('utf8'),
    ) as WebhookSecret[];
    return { endpoint: endpoint as WebhookEndpoint, secrets };
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
    const out = await this.client.send(
      new DeleteItemCommand({
        TableName: this.table,
        Key: marshall({ pk: tenantId, sk: endpointSk(id) }),
        ReturnValues: 'ALL_OLD',
      }),
    );
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

  async record(attempt: WebhookAttempt, expiresAt: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshall(
          {
            pk: historyPk(attempt.tenantId),
            sk: historySk(attempt.endpointId, attempt.deliveryId),
            ...attempt,
            expiresAt,
          },
          { removeUndefinedValues: true },
        ),
      }),
    );
  }

  /** Closure: every delivery attempt of the tenant's endpoints. */
  async removeTenant(tenantId: string): Promise<number> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': historyPk(tenantId) }),
      ProjectionExpression: 'pk, sk',
    });
    return deleteAll(this.client, this.table, items);
  }

  async list(tenantId: string, endpointId: string, page: { limit: number; cursor?: string | undefined }) {
    let startKey: Record<string, unknown> | undefined;
    if (page.cursor) {
      const id = CURSORS.webhookDeliveries.read(page.cursor);
      if (id === undefined) {
        throw new ValidationError([{ parameter: 'cursor', detail: "'cursor' is not one this API returned" }]);
      }
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
