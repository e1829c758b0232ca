import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../infra/local/services.ts';

const config = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };

/** SDK clients pointed at the run's real local services. */
export function localClients() {
  const services = inject('services');
  return {
    services,
    dynamodb: new DynamoDBClient({ ...config, endpoint: services.dynamodb }),
    sqs: new SQSClient({ ...config, endpoint: services.sqs }),
    kms: new KMSClient({ ...config, endpoint: services.kms }),
  };
}

/** A name no other test file uses, for tables and queues. */
export const uniqueName = (stem: string) => `${stem}-${randomBytes(4).toString('hex')}`;
