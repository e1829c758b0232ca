// Lambda runs Node 22; the SDK's notice about Node 20 is noise in local runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import type { TestProject } from 'vitest/node';
import { cachedAssembly } from '../../infra/local/assembly.ts';
import { freePort, startDynamoDbLocal, startKms, startSqs } from '../../infra/local/services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    services: { dynamodb: string; sqs: string; kms: string };
  }
}

/**
 * One set of real local services for the whole run: DynamoDB Local (in memory), the local SQS
 * and the KMS stand-in. Each test file isolates itself with its own table and queue names.
 * The local runtime's cloud assembly is synthesized here (or found in the cache), so the
 * end-to-end files start at once.
 */
export default async function setup(project: TestProject) {
  const [, dynamodb, sqs, kms] = await Promise.all([
    cachedAssembly({ region: 'us-east-1', euRegion: 'eu-central-1' }),
    startDynamoDbLocal({ port: await freePort() }),
    startSqs({ port: 0 }),
    startKms({ port: 0, region: 'us-east-1' }),
  ]);
  project.provide('services', { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint, kms: kms.endpoint });
  return async () => {
    await Promise.all([dynamodb.stop(), sqs.stop(), kms.stop()]);
  };
}
