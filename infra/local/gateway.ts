import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { SqsDispatchQueue } from '../../layers/adapters/sqs-dispatch-queue.ts';
import type { DispatchRef, Jurisdiction } from '../../layers/core/model.ts';
import { HTTP_FUNCTIONS, type HttpFunction } from '../../layers/http/routes.ts';
import { AUTHORIZER_CACHE_SECONDS, QUEUES, RECORDS, TABLES, visibilityTimeoutSeconds } from '../resources.ts';

const JURISDICTIONS: Jurisdiction[] = ['global', 'eu'];

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
  /** HTTP port of the global region's API; 0 picks a free one. */
  port: number;
  /** HTTP port of the EU region's API; 0 picks a free one (default: port + 1, or 0). */
  euPort?: number;
  /** Where tables, keys and the admin token persist; undefined runs everything in memory. */
  dataDir?: string | undefined;
  /** Embedded services on these ports, or endpoints of services already running. */
  services:
    | { kind: 'embedded'; dynamodbPort: number; sqsPort: number; kmsPort: number }
    | { kind: 'external'; dynamodb: string; sqs: string; kms: string };
  /** Prefix of every table and queue name, so several gateways can share services (tests). */
  prefix?: string;
  /** The regions the two jurisdictions run in (DynamoDB Local keeps each in its own database). */
  regions?: { global: string; eu: string };
  authorizerCacheSeconds?: number;
  /** How long a function instance keeps a tenant's controls and replies (default: the authorizer's cache time). */
  settingsCacheSeconds?: number;
  /**
   * Overrides for tests: shorter visibility timeouts (dispatch and carrier events queues) and
   * fewer receives make redelivery and redrive observable in seconds.
   */
  dispatch?: {
    visibilityTimeoutSeconds?: number;
    maxReceiveCount?: number;
    concurrency?: number;
    /** How long the worker waits for the carrier's answer (default 10 s). */
    carrierTimeoutSeconds?: number;
  };
  /** Lets webhooks reach receivers on this machine (loopback, http allowed); never in AWS. */
  allowLoopbackWebhooks?: boolean;
  /** Webhook retry delays in seconds (default: about a day's schedule), for tests. */
  webhookRetrySeconds?: number[];
  log?: (line: string) => void;
}

export interface RegionQueues {
  dispatch: string;
  dispatchDlq: string;
  carrierEvents: string;
  carrierEventsDlq: string;
  audit: string;
  auditDlq: string;
  webhooks: string;
  webhooksDlq: string;
}

export interface RunningGateway {
  /** The global region's API. */
  url: string;
  /** The EU region's API. */
  euUrl: string;
  adminToken: string;
  env: Record<string, string>;
  regions: { global: string; eu: string };
  /** The global region's queues (kept at the top level for existing callers) and each region's. */
  queues: RegionQueues & { byJurisdiction: Record<Jurisdiction, RegionQueues> };
  /** Table names (the same in both regions). */
  tables: { tenants: string; messages: string; sandboxLedger: string };
  /** Requests the KMS stand-in served, per operation (embedded services only). */
  kmsCalls?: Record<string, number>;
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
  const regions = options.regions ?? { global: 'us-east-1', eu: 'eu-central-1' };
  const region = regions.global;
  const prefix = options.prefix ?? 'smsgw';
  const started: RunningService[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    await assertPortFree('the HTTP API', options.port, '--port');
    const euPort = options.euPort ?? (options.port === 0 ? 0 : options.port + 1);
    await assertPortFree("the EU region's HTTP API", euPort, '--eu-port');
    let kmsCalls: Record<string, number> | undefined;
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
      kmsCalls = kms.calls;
      endpoints = { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint, kms: kms.endpoint };
    } else {
      endpoints = options.services;
    }

    const clients = (r: string) => {
      const config = { region: r, credentials: LOCAL_CREDENTIALS };
      return {
        ddb: new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb }),
        sqs: new SQSClient({ ...config, endpoint: endpoints.sqs }),
        kms: new KMSClient({ ...config, endpoint: endpoints.kms }),
      };
    };
    const byRegion = { global: clients(regions.global), eu: clients(regions.eu) };
    const { ddb, sqs, kms } = byRegion.global;

    const tables = {
      tenants: `${prefix}-${TABLES.tenants.id}`,
      messages: `${prefix}-${TABLES.messages.id}`,
      sandboxLedger: `${prefix}-${SANDBOX_LEDGER_TABLE.id}`,
    };
    // Tenants (no personal data about recipients) are global; each region has its messages table.
    await ensureTable(ddb, tables.tenants, TABLES.tenants);
    for (const j of JURISDICTIONS) {
      await ensureTable(byRegion[j].ddb, tables.messages, TABLES.messages);
      // The sandbox's "handsets" hold numbers and bodies in clear: each region keeps its own.
      await ensureTable(byRegion[j].ddb, tables.sandboxLedger, SANDBOX_LEDGER_TABLE);
    }
    const dispatchDef = {
      ...QUEUES.dispatch,
      maxReceiveCount: options.dispatch?.maxReceiveCount ?? QUEUES.dispatch.maxReceiveCount,
    };
    const dispatchVisibility =
      options.dispatch?.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(QUEUES.dispatch);
    // One SQS server serves both regions here, so the EU queues carry an `eu-` in their names.
    const queueName = (j: Jurisdiction, id: string) => `${prefix}-${j === 'eu' ? 'eu-' : ''}${id}`;
    const queueSets = {} as Record<
      Jurisdiction,
      {
        dispatch: { url: string; dlqUrl: string };
        events: { url: string; dlqUrl: string };
        audit: { url: string; dlqUrl: string };
        webhooks: { url: string; dlqUrl: string };
      }
    >;
    for (const j of JURISDICTIONS) {
      queueSets[j] = {
        dispatch: await ensureQueue(
          byRegion[j].sqs,
          queueName(j, QUEUES.dispatch.id),
          dispatchDef,
          dispatchVisibility,
        ),
        events: await ensureQueue(
          byRegion[j].sqs,
          queueName(j, QUEUES.carrierEvents.id),
          QUEUES.carrierEvents,
          options.dispatch?.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(QUEUES.carrierEvents),
        ),
        audit: await ensureQueue(
          byRegion[j].sqs,
          queueName(j, QUEUES.audit.id),
          QUEUES.audit,
          visibilityTimeoutSeconds(QUEUES.audit),
        ),
        webhooks: await ensureQueue(
          byRegion[j].sqs,
          queueName(j, QUEUES.webhooks.id),
          QUEUES.webhooks,
          visibilityTimeoutSeconds(QUEUES.webhooks),
        ),
      };
    }
    const systemKey = await ensureSystemKey(kms);
    const httpPorts = {
      global: options.port === 0 ? await freePort() : options.port,
      eu: euPort === 0 ? await freePort() : euPort,
    };

    // The same variables the CDK app sets on the Lambda functions.
    const env: Record<string, string> = {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_KMS: endpoints.kms,
      TENANTS_TABLE: tables.tenants,
      TENANTS_REGION: regions.global,
      SYSTEM_KEY_ID: systemKey,
      GLOBAL_REGION: regions.global,
      GLOBAL_MESSAGES_TABLE: tables.messages,
      GLOBAL_DISPATCH_QUEUE_URL: queueSets.global.dispatch.url,
      GLOBAL_CARRIER_EVENTS_QUEUE_URL: queueSets.global.events.url,
      GLOBAL_AUDIT_QUEUE_URL: queueSets.global.audit.url,
      GLOBAL_WEBHOOK_QUEUE_URL: queueSets.global.webhooks.url,
      GLOBAL_WEBHOOK_DLQ_URL: queueSets.global.webhooks.dlqUrl,
      GLOBAL_API_URL: `http://127.0.0.1:${httpPorts.global}`,
      EU_REGION: regions.eu,
      EU_MESSAGES_TABLE: tables.messages,
      EU_DISPATCH_QUEUE_URL: queueSets.eu.dispatch.url,
      EU_CARRIER_EVENTS_QUEUE_URL: queueSets.eu.events.url,
      EU_AUDIT_QUEUE_URL: queueSets.eu.audit.url,
      EU_WEBHOOK_QUEUE_URL: queueSets.eu.webhooks.url,
      EU_WEBHOOK_DLQ_URL: queueSets.eu.webhooks.dlqUrl,
      EU_API_URL: `http://127.0.0.1:${httpPorts.eu}`,
      JURISDICTION: 'global',
      BACKUP_WINDOW_DAYS: String(RECORDS.backupWindowDays),
      ERASURE_RECORD_DAYS: String(RECORDS.erasureRecordDays),
      CLOSED_RECORDS_DAYS: String(RECORDS.closedAccountRecordsDays),
      KEY_DELETION_DAYS: String(RECORDS.keyDeletionDays),
      SENDER_IDENTITY_DAYS: String(RECORDS.senderIdentityDays),
      USAGE_RETENTION_DAYS: String(RECORDS.usageRecordDays),
      ANALYTICS_RETENTION_DAYS: String(RECORDS.analyticsDays),
      AUDIT_RETENTION_DAYS: String(RECORDS.auditTrailDays),
      WEBHOOK_HISTORY_DAYS: String(RECORDS.webhookHistoryDays),
      // A receiver on this machine is allowed here only (tests, trying webhooks locally).
      WEBHOOK_ALLOW_LOOPBACK: String(options.allowLoopbackWebhooks ?? false),
      ...(options.webhookRetrySeconds
        ? { WEBHOOK_RETRY_SCHEDULE_SECONDS: options.webhookRetrySeconds.join(',') }
        : {}),
      TENANT_SETTINGS_CACHE_SECONDS: String(options.settingsCacheSeconds ?? AUTHORIZER_CACHE_SECONDS),
      GATEWAY_SENDER_ID: 'Verify',
      // The account named in tenant key policies (the KMS stand-in's).
      ACCOUNT_ID: '000000000000',
      // The gateway's own origination identities (what the CDK app sets from -c gatewayOrigination).
      GATEWAY_ORIGINATION: JSON.stringify({ global: { default: 'Verify' }, eu: { default: 'Verify' } }),
      // One process hosts both regions' functions here: each may read either region's settings.
      GATEWAY_LOCAL_BOTH_REGIONS: 'true',
      // EMF metrics would print a JSON line per request on the console; on for the tests.
      POWERTOOLS_METRICS_DISABLED: process.env.SMS_GATEWAY_LOCAL_METRICS === 'true' ? 'false' : 'true',
      CARRIER: 'sandbox',
      SANDBOX_LEDGER_TABLE: tables.sandboxLedger,
      DISPATCH_LEASE_SECONDS: String(dispatchVisibility),
      DISPATCH_MAX_RECEIVE_COUNT: String(dispatchDef.maxReceiveCount),
      ...(options.dispatch?.carrierTimeoutSeconds
        ? { DISPATCH_CARRIER_TIMEOUT_SECONDS: String(options.dispatch.carrierTimeoutSeconds) }
        : {}),
    };
    Object.assign(process.env, env);

    const load = async <T>(name: string) =>
      ((await import(`../../functions/${name}.ts`)) as { handler: T }).handler;
    const handlers = Object.fromEntries(
      await Promise.all(HTTP_FUNCTIONS.map(async (f) => [f, await load<HttpHandler>(f)] as const)),
    ) as Record<HttpFunction, HttpHandler>;
    const adminToken = adminTokenFor(options.dataDir);
    const authorizer = await load<Authorizer>('authorize');
    // Two regional APIs over the same handlers; each tells them its jurisdiction the way an
    // API Gateway stage does, through a stage variable.
    const apis = JURISDICTIONS.map(
      (jurisdiction) =>
        new LocalHttpGateway({
          handlers,
          authorizer,
          adminToken,
          authorizerCacheSeconds: options.authorizerCacheSeconds ?? AUTHORIZER_CACHE_SECONDS,
          stageVariables: { jurisdiction },
        }),
    );

    const arn = async (url: string) =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
        .Attributes!.QueueArn!;
    const dispatchHandler = await load<SqsHandler>('dispatch-messages');
    const eventsHandler = await load<SqsHandler>('apply-carrier-events');
    const auditHandler = await load<SqsHandler>('record-audit-events');
    const webhooksHandler = await load<SqsHandler>('deliver-webhooks');
    const sources: SqsEventSource[] = [];
    for (const j of JURISDICTIONS) {
      const q = queueSets[j];
      const regionSqs = byRegion[j].sqs;
      sources.push(
        new SqsEventSource({
          name: `dispatch-messages (${j})`,
          sqs: regionSqs,
          queueUrl: q.dispatch.url,
          queueArn: await arn(q.dispatch.url),
          batchSize: QUEUES.dispatch.batchSize,
          concurrency: options.dispatch?.concurrency ?? 2,
          timeoutMs: QUEUES.dispatch.consumerTimeoutSeconds * 1000,
          handler: dispatchHandler,
        }),
        new SqsEventSource({
          name: `apply-carrier-events (${j})`,
          sqs: regionSqs,
          queueUrl: q.events.url,
          queueArn: await arn(q.events.url),
          batchSize: QUEUES.carrierEvents.batchSize,
          concurrency: 1,
          timeoutMs: QUEUES.carrierEvents.consumerTimeoutSeconds * 1000,
          handler: eventsHandler,
        }),
        new SqsEventSource({
          name: `record-audit-events (${j})`,
          sqs: regionSqs,
          queueUrl: q.audit.url,
          queueArn: await arn(q.audit.url),
          batchSize: QUEUES.audit.batchSize,
          concurrency: 1,
          timeoutMs: QUEUES.audit.consumerTimeoutSeconds * 1000,
          handler: auditHandler,
        }),
        new SqsEventSource({
          name: `deliver-webhooks (${j})`,
          sqs: regionSqs,
          queueUrl: q.webhooks.url,
          queueArn: await arn(q.webhooks.url),
          batchSize: QUEUES.webhooks.batchSize,
          concurrency: 1,
          timeoutMs: QUEUES.webhooks.consumerTimeoutSeconds * 1000,
          handler: webhooksHandler,
        }),
      );
      const recovered = await requeueUnfinished(
        byRegion[j].ddb,
        tables.messages,
        new SqsDispatchQueue(regionSqs, q.dispatch.url),
      );
      if (recovered > 0)
        log(
          `re-enqueued ${recovered} unfinished ${j} message(s) (the local SQS keeps no state across restarts)`,
        );
    }

    await apis[0]!.listen(httpPorts.global);
    await apis[1]!.listen(httpPorts.eu);
    for (const s of sources) s.start();
    const regionQueues = (j: Jurisdiction): RegionQueues => ({
      dispatch: queueSets[j].dispatch.url,
      dispatchDlq: queueSets[j].dispatch.dlqUrl,
      carrierEvents: queueSets[j].events.url,
      carrierEventsDlq: queueSets[j].events.dlqUrl,
      audit: queueSets[j].audit.url,
      auditDlq: queueSets[j].audit.dlqUrl,
      webhooks: queueSets[j].webhooks.url,
      webhooksDlq: queueSets[j].webhooks.dlqUrl,
    });
    return {
      url: env.GLOBAL_API_URL!,
      euUrl: env.EU_API_URL!,
      adminToken,
      env,
      regions,
      queues: {
        ...regionQueues('global'),
        byJurisdiction: { global: regionQueues('global'), eu: regionQueues('eu') },
      },
      tables,
      ...(kmsCalls ? { kmsCalls } : {}),
      stop: async () => {
        await Promise.all(apis.map((a) => a.close()));
        await Promise.all(sources.map((s) => s.stop()));
        for (const c of [...Object.values(byRegion.global), ...Object.values(byRegion.eu)]) c.destroy();
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
