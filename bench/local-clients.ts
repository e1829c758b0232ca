import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS } from '../infra/local/services.ts';

/** A DynamoDB client for a local service endpoint, in a region (DynamoDB Local keeps one database per region). */
export const localClientsFor = (endpoint: string, region: string) => ({
  dynamodb: new DynamoDBClient({ region, endpoint, credentials: LOCAL_CREDENTIALS }),
});
