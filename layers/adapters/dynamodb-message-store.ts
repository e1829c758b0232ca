import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ValidationError } from '../core/errors.ts';
import { ID_PATTERN } from '../core/ids.ts';
import type { DispatchRef, MessageRecord, MessageStatus } from '../core/model.ts';
import type { ClaimOutcome, MessagePage, MessageStore } from '../ports/index.ts';
import { batchWrite, epochSeconds, isConditionFailure } from './dynamodb-util.ts';

const sk = (id: string) => `MSG#${id}`;
const statusKey = (tenantId: string, status: MessageStatus) => `${tenantId}#${status}`;
const INTERNAL = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'claimToken', 'claimUntil'];
const TIME_FIELD = {
  sent: 'sentAt',
  delivered: 'deliveredAt',
  failed: 'failedAt',
  undeliverable: 'failedAt',
} as const;

function toItem(m: MessageRecord): Record<string, AttributeValue> {
  return marshall(
    { pk: m.tenantId, sk: sk(m.id), gsi1pk: statusKey(m.tenantId, m.status), gsi1sk: m.id, ...m },
    { removeUndefinedValues: true },
  );
}

function fromItem(item: Record<string, AttributeValue>): MessageRecord {
  const raw = unmarshall(item);
  for (const k of INTERNAL) delete raw[k];
  return raw as MessageRecord;
}

const live = (m: MessageRecord, now: Date) => m.expiresAt > epochSeconds(now);

function encodeCursor(id: string) {
  return Buffer.from(JSON.stringify({ id })).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const { id } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { id?: unknown };
    if (typeof id === 'string' && ID_PATTERN.message.test(id)) return id;
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError([{ parameter: 'cursor', detail: "'cursor' is not a cursor this API returned" }]);
}

/**
 * Messages live under the tenant id as partition key (tenant isolation by key design), sorted
 * by time-ordered id; a sparse per-status index serves status-filtered listing.
 */
export class DynamoDbMessageStore implements MessageStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async create(messages: MessageRecord[], options?: { mayExist?: boolean }): Promise<void> {
    if (messages.length === 1 || options?.mayExist) {
      await Promise.all(
        messages.map(async (m) => {
          try {
            await this.client.send(
              new PutItemCommand({
                TableName: this.table,
                Item: toItem(m),
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            );
          } catch (error) {
            if (!isConditionFailure(error)) throw error;
          }
        }),
      );
      return;
    }
    await batchWrite(
      this.client,
      this.table,
      messages.map((m) => ({ PutRequest: { Item: toItem(m) } })),
    );
  }

  async get(tenantId: string, id: string, now: Date): Promise<MessageRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: marshall({ pk: tenantId, sk: sk(id) }),
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const m = fromItem(out.Item);
    return live(m, now) ? m : undefined;
  }

  async list(
    tenantId: string,
    query: { status?: MessageStatus | undefined; limit: number; cursor?: string | undefined },
    now: Date,
  ): Promise<MessagePage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const byStatus = query.status !== undefined;
    const items: MessageRecord[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    if (after !== undefined) {
      startKey = byStatus
        ? marshall({ gsi1pk: statusKey(tenantId, query.status!), gsi1sk: after, pk: tenantId, sk: sk(after) })
        : marshall({ pk: tenantId, sk: sk(after) });
    }
    let more = true;
    // A filter (expired items) applies after Limit, so a page may need several reads to fill.
    while (items.length < query.limit && more) {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          ...(byStatus
            ? {
                IndexName: 'byStatus',
                KeyConditionExpression: 'gsi1pk = :pk',
                ExpressionAttributeValues: marshall({
                  ':pk': statusKey(tenantId, query.status!),
                  ':now': epochSeconds(now),
                }),
              }
            : {
                KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
                ExpressionAttributeValues: marshall({
                  ':pk': tenantId,
                  ':msg': 'MSG#',
                  ':now': epochSeconds(now),
                }),
              }),
          FilterExpression: 'expiresAt > :now',
          ScanIndexForward: false,
          Limit: query.limit - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(out.Items ?? []).map(fromItem));
      startKey = out.LastEvaluatedKey;
      more = startKey !== undefined;
    }
    const last = items.at(-1);
    return { items, nextCursor: more && last ? encodeCursor(last.id) : undefined };
  }

  async remove(tenantId: string, ids: string[]): Promise<void> {
    await batchWrite(
      this.client,
      this.table,
      ids.map((id) => ({ DeleteRequest: { Key: marshall({ pk: tenantId, sk: sk(id) }) } })),
    );
  }

  async claim(ref: DispatchRef, token: string, leaseMs: number, now: Date): Promise<ClaimOutcome> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          UpdateExpression: 'SET claimToken = :token, claimUntil = :until ADD attempts :one',
          ConditionExpression:
            'attribute_exists(pk) AND #status = :queued AND expiresAt > :nowSec AND (attribute_not_exists(claimUntil) OR claimUntil < :nowMs)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':token': token,
            ':until': now.getTime() + leaseMs,
            ':one': 1,
            ':queued': 'queued',
            ':nowSec': epochSeconds(now),
            ':nowMs': now.getTime(),
          }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'claimed', message: fromItem(out.Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (!error.Item) return { outcome: 'missing' };
      const m = fromItem(error.Item);
      if (!live(m, now)) return { outcome: 'missing' };
      if (m.status !== 'queued') return { outcome: 'done', status: m.status };
      return { outcome: 'busy' };
    }
  }

  async releaseClaim(ref: DispatchRef, token: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          UpdateExpression: 'REMOVE claimToken, claimUntil',
          ConditionExpression: 'claimToken = :token',
          ExpressionAttributeValues: marshall({ ':token': token }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async markSent(ref: DispatchRef, token: string, carrierMessageId: string, at: Date): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          UpdateExpression:
            'SET #status = :sent, gsi1pk = :gsi, sentAt = :at, carrierMessageId = :cid REMOVE claimToken, claimUntil',
          ConditionExpression: 'claimToken = :token AND #status = :queued',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':sent': 'sent',
            ':queued': 'queued',
            ':gsi': statusKey(ref.tenantId, 'sent'),
            ':at': at.toISOString(),
            ':cid': carrierMessageId,
            ':token': token,
          }),
        }),
      );
    } catch (error) {
      // A receipt that overtook us already moved the message on; nothing is lost.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async transition(
    ref: DispatchRef,
    to: Exclude<MessageStatus, 'queued'>,
    at: Date,
    details: {
      error?: { code: string; message: string } | undefined;
      carrierMessageId?: string | undefined;
    } = {},
  ): Promise<'updated' | 'ignored'> {
    const sets = ['#status = :to', 'gsi1pk = :gsi', `${TIME_FIELD[to]} = :at`];
    const values: Record<string, unknown> = {
      ':to': to,
      ':gsi': statusKey(ref.tenantId, to),
      ':at': at.toISOString(),
      ':queued': 'queued',
      ':sent': 'sent',
    };
    if (details.error) {
      sets.push('#error = :error');
      values[':error'] = details.error;
    }
    if (details.carrierMessageId !== undefined) {
      // A receipt proves the carrier had it, even if the worker's own update was lost.
      sets.push('carrierMessageId = if_not_exists(carrierMessageId, :cid)');
      values[':cid'] = details.carrierMessageId;
      if (to !== 'sent') sets.push('sentAt = if_not_exists(sentAt, :at)');
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE claimToken, claimUntil`,
          ConditionExpression:
            to === 'sent'
              ? '#status = :queued'
              : 'attribute_exists(pk) AND (#status = :queued OR #status = :sent)',
          ExpressionAttributeNames: { '#status': 'status', ...(details.error ? { '#error': 'error' } : {}) },
          ExpressionAttributeValues: marshall(
            to === 'sent'
              ? Object.fromEntries(Object.entries(values).filter(([k]) => k !== ':sent'))
              : values,
          ),
        }),
      );
      return 'updated';
    } catch (error) {
      if (isConditionFailure(error)) return 'ignored';
      throw error;
    }
  }
}
