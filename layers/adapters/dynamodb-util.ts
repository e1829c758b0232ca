import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteItemsCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, type NativeAttributeValue, unmarshall } from '@aws-sdk/util-dynamodb';
import type { CursorFormat } from '../core/cursors.ts';
import { ValidationError } from '../core/errors.ts';

export function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

/**
 * `write`'s answer, or undefined when its condition failed: for a conditional write whose failed
 * condition means there is nothing left to do (another writer moved the item on, or it is gone).
 */
export async function unlessConditionFails<T>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/**
 * Why a transaction was cancelled, one code per item in order ('ConditionalCheckFailed', 'None',
 * ...); undefined for any other error.
 */
export function cancellationReasons(error: unknown): (string | undefined)[] | undefined {
  if ((error as Error)?.name !== 'TransactionCanceledException') return undefined;
  return (
    (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons?.map((r) => r.Code) ??
    // (As the message says it: "... [ConditionalCheckFailed, None]".)
    /\[([^\]]*)\]/.exec((error as Error).message)?.[1]?.split(', ')
  );
}

/** A condition on an item that must hold for a transaction to go through (`putWhile`, or a caller's own transaction). */
export interface ItemCondition {
  key: Record<string, unknown>;
  condition: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
}

/** `check` as a transaction's ConditionCheck item on `table`. */
export const conditionCheck = (table: string, check: ItemCondition) => ({
  ConditionCheck: {
    TableName: table,
    Key: marshall(check.key),
    ConditionExpression: check.condition,
    ExpressionAttributeNames: check.names,
    ExpressionAttributeValues: check.values ? marshall(check.values) : undefined,
  },
});

/**
 * Puts `put.item` only while the item at `check.key` meets `check.condition` (and the put its own
 * `put.condition`): one transaction of a condition check and the put. `written`, or which
 * condition failed (`check`: nothing written; `put`: the put's own, e.g. the item exists).
 */
export async function putWhile(
  client: DynamoDBClient,
  table: string,
  check: ItemCondition,
  put: { item: Record<string, unknown>; condition?: string; values?: Record<string, unknown> },
): Promise<'written' | 'check' | 'put'> {
  try {
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          conditionCheck(table, check),
          {
            Put: {
              TableName: table,
              Item: marshall(put.item, { removeUndefinedValues: true }),
              ConditionExpression: put.condition,
              ExpressionAttributeValues: put.values ? marshall(put.values) : undefined,
            },
          },
        ],
      }),
    );
    return 'written';
  } catch (error) {
    const reasons = cancellationReasons(error);
    if (reasons?.[0] === 'ConditionalCheckFailed') return 'check';
    if (reasons?.[1] === 'ConditionalCheckFailed') return 'put';
    throw error;
  }
}

/**
 * The item at `key`, unmarshalled, or undefined when there is none. A strongly consistent read
 * unless `consistent` is false (a replica's item, or one whose staleness does not matter).
 */
export async function getItem(
  client: DynamoDBClient,
  table: string,
  key: Record<string, unknown>,
  options: { consistent?: boolean; projection?: string } = {},
): Promise<Record<string, NativeAttributeValue> | undefined> {
  const out = await client.send(
    new GetItemCommand({
      TableName: table,
      Key: marshall(key),
      ...(options.consistent === false ? {} : { ConsistentRead: true }),
      ...(options.projection === undefined ? {} : { ProjectionExpression: options.projection }),
    }),
  );
  return out.Item ? unmarshall(out.Item) : undefined;
}

/**
 * Puts `item` unless an item of its key is there, and returns what is stored then: `stored`, or,
 * when another writer came first, what `winner` reads back (the race's winner, which all agree on).
 */
export async function putIfAbsent<T>(
  client: DynamoDBClient,
  table: string,
  item: Record<string, unknown>,
  stored: T,
  winner: () => Promise<T | undefined>,
): Promise<T> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: marshall(item, { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return stored;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const first = await winner();
    if (first === undefined) throw error;
    return first;
  }
}

/** The position a page cursor of `format` holds; a cursor the API never gave is a 422 on `cursor`. */
export function readCursor<T>(format: CursorFormat<T>, cursor: string): T {
  const position = format.read(cursor);
  if (position !== undefined) return position;
  throw new ValidationError([{ parameter: 'cursor', detail: "'cursor' is not a cursor this API returned" }]);
}

export const epochSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** Writes in chunks of 25, resending unprocessed items with a short backoff. */
export async function batchWrite(
  client: DynamoDBClient,
  table: string,
  requests: WriteRequest[],
): Promise<void> {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += 25) chunks.push(requests.slice(i, i + 25));
  await Promise.all(
    chunks.map(async (chunk) => {
      let pending = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`DynamoDB left ${pending.length} writes unprocessed after retries`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, 2 ** attempt * 10));
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
        pending = out.UnprocessedItems?.[table] ?? [];
      }
    }),
  );
}

/** Reads keys in chunks of 100, resending unprocessed keys with a short backoff. */
export async function batchGet(
  client: DynamoDBClient,
  table: string,
  keys: Record<string, AttributeValue>[],
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending = keys.slice(i, i + 100);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`DynamoDB left ${pending.length} reads unprocessed after retries`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 2 ** attempt * 10));
      const out = await client.send(
        new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...(out.Responses?.[table] ?? []));
      pending = out.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return items;
}

/** Runs a query through every page and returns all its items. */
export async function queryAll(
  client: DynamoDBClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Every item of partition `pk` whose sort key begins with `prefix`, through every page: only
 * those that meet `filter` (with its `values`), only the `projection`'s attributes, and read
 * strongly consistent when `consistent`.
 */
export function queryPrefix(
  client: DynamoDBClient,
  table: string,
  pk: string,
  prefix: string,
  more: { filter?: string; values?: Record<string, unknown>; projection?: string; consistent?: boolean } = {},
): Promise<Record<string, AttributeValue>[]> {
  return queryAll(client, {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
    ...(more.filter === undefined ? {} : { FilterExpression: more.filter }),
    ExpressionAttributeValues: marshall({ ':pk': pk, ':p': prefix, ...more.values }),
    ...(more.projection === undefined ? {} : { ProjectionExpression: more.projection }),
    ...(more.consistent ? { ConsistentRead: true } : {}),
  });
}

/** Deletes items by key; returns how many. */
export async function deleteAll(
  client: DynamoDBClient,
  table: string,
  keys: Record<string, AttributeValue>[],
): Promise<number> {
  await batchWrite(
    client,
    table,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
  return keys.length;
}
