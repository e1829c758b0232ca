import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { SqsDispatchQueue } from '../../layers/adapters/sqs-dispatch-queue.ts';
import type { DispatchRef } from '../../layers/core/model.ts';
import { HTTP_FUNCTIONS, type HttpFunction } from '../../layers/http/routes.ts';
import { AUTHORIZER_CACHE_SECONDS, QUEUES, TABLES, visibilityTimeoutSeconds } from '../resources.ts';
import { SqsEventSource, type SqsHandler } from './event-source.ts';
import { type Authorizer, type HttpHandler, LocalHttpGateway } from './http-gateway.ts';
import { ensureQueue, ensureSystemKey, ensureTable, SANDBOX_LEDGER_TABLE } from './provision.ts';
import {
  assertPortFree,
  freePort,
  LOCAL_CREDENTIALS,
  type RunningService,
  startDynamoDbLocal,
  startKms,
  startSqs,
} from './services.ts';

export interface GatewayOptions {
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** Where tables, keys and the admin token persist; undefined runs everything in memory. */
  dataDir?: string | undefined;
  /** Embedded services on these ports, or endpoints of services already running. */
  services:
    | { kind: 'embedded'; dynamodbPort: number; sqsPort: number; kmsPort: number }
    | { kind: 'external'; dynamodb: string; sqs: string; kms: string };
  /** Prefix of every table and queue name, so several gateways can share services (tests). */
  prefix?: string;
  region?: string;
  authorizerCacheSeconds?: number;
  /**
   * Overrides for tests: shorter visibility timeouts (dispatch and carrier events queues) and
   * fewer receives make redelivery and redrive observable in seconds.
   */
  dispatch?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number; concurrency?: number };
  log?: (line: string) => void;
}

export interface RunningGateway {
  url: string;
  adminToken: string;
  env: Record<string, string>;
  queues: { dispatch: string; dispatchDlq: string; carrierEvents: string; carrierEventsDlq: string };
  tables: { tenants: string; messages: string; sandboxLedger: string };
  stop(): Promise<void>;
}

function adminTokenFor(dataDir: string | undefined): string {
  const fresh = () => `adm_${randomBytes(24).toString('base64url')}`;
  if (!dataDir) return fresh();
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const token = fresh();
  writeFileSync(file, token, { mode: 0o600 });
  return token;
}

/**
 * Starts the whole gateway on this machine: DynamoDB Local, the local SQS and the KMS stand-in
 * (unless given external ones), the tables and queues from the shared definitions, the HTTP API
 * from the route table, and the SQS event sources for the workers. The functions are the same
 * modules that run in Lambda, configured through the same environment variables.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? (() => undefined);
  const region = options.region ?? 'us-east-1';
  const prefix = options.prefix ?? 'smsgw';
  const started: RunningService[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    await assertPortFree('the HTTP API', options.port, '--port');
    let endpoints: { dynamodb: string; sqs: string; kms: string };
    if (options.services.kind === 'embedded') {
      const s = options.services;
      await assertPortFree('DynamoDB Local', s.dynamodbPort, '--dynamodb-port');
      await assertPortFree('the local SQS', s.sqsPort, '--sqs-port');
      await assertPortFree('the KMS stand-in', s.kmsPort, '--kms-port');
      log('starting DynamoDB Local, the local SQS and the KMS stand-in ...');
      const dynamodb = await startDynamoDbLocal({
        port: s.dynamodbPort === 0 ? await freePort() : s.dynamodbPort,
        dataDir: options.dataDir && join(options.dataDir, 'dynamodb'),
      });
      started.push(dynamodb);
      const sqs = await startSqs({ port: s.sqsPort });
      started.push(sqs);
      const kms = await startKms({
        port: s.kmsPort,
        region,
        file: options.dataDir && join(options.dataDir, 'kms.json'),
      });
      started.push(kms);
      endpoints = { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint, kms: kms.endpoint };
    } else {
      endpoints = options.services;
    }

    const clientConfig = { region, credentials: LOCAL_CREDENTIALS };
    const ddb = new DynamoDBClient({ ...clientConfig, endpoint: endpoints.dynamodb });
    const sqs = new SQSClient({ ...clientConfig, endpoint: endpoints.sqs });
    const kms = new KMSClient({ ...clientConfig, endpoint: endpoints.kms });

    const tables = {
      tenants: `${prefix}-${TABLES.tenants.id}`,
      messages: `${prefix}-${TABLES.messages.id}`,
      sandboxLedger: `${prefix}-${SANDBOX_LEDGER_TABLE.id}`,
    };
    await ensureTable(ddb, tables.tenants, TABLES.tenants);
    await ensureTable(ddb, tables.messages, TABLES.messages);
    await ensureTable(ddb, tables.sandboxLedger, SANDBOX_LEDGER_TABLE);
    const dispatchDef = {
      ...QUEUES.dispatch,
      maxReceiveCount: options.dispatch?.maxReceiveCount ?? QUEUES.dispatch.maxReceiveCount,
    };
    const dispatchVisibility =
      options.dispatch?.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(QUEUES.dispatch);
    const dispatch = await ensureQueue(
      sqs,
      `${prefix}-${QUEUES.dispatch.id}`,
      dispatchDef,
      dispatchVisibility,
    );
    const events = await ensureQueue(
      sqs,
      `${prefix}-${QUEUES.carrierEvents.id}`,
      QUEUES.carrierEvents,
      options.dispatch?.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(QUEUES.carrierEvents),
    );
    const systemKey = await ensureSystemKey(kms);

    // The same variables the CDK app sets on the Lambda functions.
    const env: Record<string, string> = {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_KMS: endpoints.kms,
      TENANTS_TABLE: tables.tenants,
      MESSAGES_TABLE: tables.messages,
      DISPATCH_QUEUE_URL: dispatch.url,
      CARRIER_EVENTS_QUEUE_URL: events.url,
      SYSTEM_KEY_ID: systemKey,
      JURISDICTION: 'global',
      MESSAGE_RETENTION_DAYS: '90',
      CARRIER: 'sandbox',
      SANDBOX_LEDGER_TABLE: tables.sandboxLedger,
      DISPATCH_LEASE_SECONDS: String(dispatchVisibility),
      DISPATCH_MAX_RECEIVE_COUNT: String(dispatchDef.maxReceiveCount),
    };
    Object.assign(process.env, env);

    const load = async <T>(name: string) =>
      ((await import(`../../functions/${name}.ts`)) as { handler: T }).handler;
    const handlers = Object.fromEntries(
      await Promise.all(HTTP_FUNCTIONS.map(async (f) => [f, await load<HttpHandler>(f)] as const)),
    ) as Record<HttpFunction, HttpHandler>;
    const adminToken = adminTokenFor(options.dataDir);
    const http = new LocalHttpGateway({
      handlers,
      authorizer: await load<Authorizer>('authorize'),
      adminToken,
      authorizerCacheSeconds: options.authorizerCacheSeconds ?? AUTHORIZER_CACHE_SECONDS,
    });

    const arn = async (url: string) =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
        .Attributes!.QueueArn!;
    const sources = [
      new SqsEventSource({
        name: 'dispatch-messages',
        sqs,
        queueUrl: dispatch.url,
        queueArn: await arn(dispatch.url),
        batchSize: QUEUES.dispatch.batchSize,
        concurrency: options.dispatch?.concurrency ?? 2,
        timeoutMs: QUEUES.dispatch.consumerTimeoutSeconds * 1000,
        handler: await load<SqsHandler>('dispatch-messages'),
      }),
      new SqsEventSource({
        name: 'apply-carrier-events',
        sqs,
        queueUrl: events.url,
        queueArn: await arn(events.url),
        batchSize: QUEUES.carrierEvents.batchSize,
        concurrency: 1,
        timeoutMs: QUEUES.carrierEvents.consumerTimeoutSeconds * 1000,
        handler: await load<SqsHandler>('apply-carrier-events'),
      }),
    ];

    const recovered = await requeueUnfinished(ddb, tables.messages, new SqsDispatchQueue(sqs, dispatch.url));
    if (recovered > 0)
      log(`re-enqueued ${recovered} unfinished message(s) (the local SQS keeps no state across restarts)`);

    const port = await http.listen(options.port);
    for (const s of sources) s.start();
    return {
      url: `http://127.0.0.1:${port}`,
      adminToken,
      env,
      queues: {
        dispatch: dispatch.url,
        dispatchDlq: dispatch.dlqUrl,
        carrierEvents: events.url,
        carrierEventsDlq: events.dlqUrl,
      },
      tables,
      stop: async () => {
        await http.close();
        await Promise.all(sources.map((s) => s.stop()));
        for (const c of [ddb, sqs, kms]) c.destroy();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Queued messages whose queue records were lost (the local SQS lives in memory) are enqueued
 * again at start. Dispatch is idempotent per message, so a record that did survive costs
 * nothing but a skipped delivery.
 */
async function requeueUnfinished(
  ddb: DynamoDBClient,
  table: string,
  queue: SqsDispatchQueue,
): Promise<number> {
  const refs: DispatchRef[] = [];
  let start: Record<string, never> | undefined;
  do {
    const out = await ddb.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: '#s = :queued AND begins_with(sk, :msg)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':queued': { S: 'queued' }, ':msg': { S: 'MSG#' } },
        ProjectionExpression: 'tenantId, id, jurisdiction',
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const m = unmarshall(item);
      refs.push({ tenantId: m.tenantId, messageId: m.id, jurisdiction: m.jurisdiction });
    }
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  if (refs.length > 0) await queue.enqueue(refs);
  return refs.length;
}
