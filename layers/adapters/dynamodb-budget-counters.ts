import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { BudgetCounters } from '../ports/index.ts';
import { isConditionFailure } from './dynamodb-util.ts';

/**
 * The gateway's own message budgets, counted in the messages table of the region that took the
 * request (an item per hour and country: a count, never a number). One conditional write per
 * message: concurrent instances never pass the limit.
 */
export class DynamoDbBudgetCounters implements BudgetCounters {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async take(key: string, limit: number, expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: `BUDGET#${key}`, sk: 'BUDGET' }),
          UpdateExpression: 'ADD sent :one SET expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(sent) OR sent < :limit',
          ExpressionAttributeValues: marshall({ ':one': 1, ':limit': limit, ':exp': expiresAt }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
