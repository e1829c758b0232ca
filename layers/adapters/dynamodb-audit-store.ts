import { type DynamoDBClient, QueryCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AuditFilter, AuditStore } from '#functions/audit/ports.ts';
import type { AuditEvent, AuditHead } from '../core/audit.ts';
import { CURSORS } from '../core/cursors.ts';
import { epochSeconds, getItem, queryPrefix, readCursor } from './dynamodb-util.ts';

/**
 * The trail's own partition, `<tenantId>#audit`, beside the tenant's data in the messages table
 * of the jurisdiction that took the calls: removing a closed tenant's items leaves it (the audit
 * trail is kept for its own retention), and it never replicates to another region.
 */
const pk = (tenantId: string) => `${tenantId}#audit`;
const HEAD = 'HEAD';
const eventSk = (seq: number) => `E#${String(seq).padStart(12, '0')}`;

const encodeCursor = CURSORS.auditEvents.write;

const toEvent = (item: Record<string, unknown>): AuditEvent => {
  const { pk: _pk, sk: _sk, expiresAt: _e, ...event } = item;
  return event as unknown as AuditEvent;
};

export class DynamoDbAuditStore implements AuditStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async head(tenantId: string): Promise<AuditHead | undefined> {
    const item = await getItem(this.client, this.table, { pk: pk(tenantId), sk: HEAD });
    if (!item) return undefined;
    const { seq, hash, recentIds } = item;
    return { seq, hash, recentIds: recentIds ?? [] };
  }

  async append(
    tenantId: string,
    events: AuditEvent[],
    head: AuditHead,
    expectedSeq: number,
    expiresAt: number,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            ...events.map((e) => ({
              Put: {
                TableName: this.table,
                Item: marshall(
                  { pk: pk(tenantId), sk: eventSk(e.seq), ...e, expiresAt },
                  { removeUndefinedValues: true },
                ),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
            {
              Put: {
                TableName: this.table,
                Item: marshall({ pk: pk(tenantId), sk: HEAD, ...head, expiresAt }),
                ConditionExpression: expectedSeq === 0 ? 'attribute_not_exists(pk)' : 'seq = :expected',
                ...(expectedSeq === 0
                  ? {}
                  : { ExpressionAttributeValues: marshall({ ':expected': expectedSeq }) }),
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error)?.name === 'TransactionCanceledException') return false;
      throw error;
    }
  }

  async list(
    tenantId: string,
    filter: AuditFilter,
    page: { limit: number; cursor?: string | undefined },
    now: Date,
  ): Promise<{ items: AuditEvent[]; nextCursor?: string | undefined }> {
    const conditions = ['expiresAt > :now'];
    const values: Record<string, unknown> = { ':pk': pk(tenantId), ':p': 'E#', ':now': epochSeconds(now) };
    const names: Record<string, string> = {};
    const add = (condition: string, name: string, value: unknown) => {
      conditions.push(condition);
      values[name] = value;
    };
    if (filter.action) add('#action = :action', ':action', filter.action);
    if (filter.keyId) add('actor.keyId = :keyId', ':keyId', filter.keyId);
    if (filter.outcome) add('outcome = :outcome', ':outcome', filter.outcome);
    if (filter.from) add('#at >= :from', ':from', filter.from);
    if (filter.to) add('#at < :to', ':to', filter.to);
    if (filter.action) names['#action'] = 'action';
    if (filter.from || filter.to) names['#at'] = 'at';

    const items: AuditEvent[] = [];
    let startKey = page.cursor
      ? marshall({ pk: pk(tenantId), sk: eventSk(readCursor(CURSORS.auditEvents, page.cursor)) })
      : undefined;
    // Filters apply after DynamoDB's page limit: read pages until the page is full or the trail ends.
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          FilterExpression: conditions.join(' AND '),
          ExpressionAttributeValues: marshall(values),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ScanIndexForward: false,
          Limit: Math.max(page.limit, 50),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        const event = toEvent(unmarshall(item));
        items.push(event);
        if (items.length === page.limit) {
          const more = out.LastEvaluatedKey !== undefined || item !== out.Items?.at(-1);
          return { items, ...(more ? { nextCursor: encodeCursor(event.seq) } : {}) };
        }
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return { items };
  }

  async all(tenantId: string, now: Date): Promise<AuditEvent[]> {
    const items = await queryPrefix(this.client, this.table, pk(tenantId), 'E#', {
      filter: 'expiresAt > :now',
      values: { ':now': epochSeconds(now) },
      consistent: true,
    });
    return items.map((i) => toEvent(unmarshall(i)));
  }
}
