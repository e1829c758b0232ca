// What one message costs in AWS requests, measured on the local runtime: DynamoDB write and read
// units (DynamoDB Local's ConsumedCapacity, asked for on every call by a proxy), KMS calls and SQS
// requests (counted by proxies), bytes written to the logs, and HTTP requests; priced at list.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { adminCall } from '../infra/local/admin-call.ts';
import { LOCAL_CREDENTIALS } from '../infra/local/services.ts';
import { DEFAULT_LIMITS } from '../layers/core/crypto.ts';
import { startFaultProxy } from '../test/support/fault-proxy.ts';
import { countUnfinished, gatewayOn, startLocalServices, testTenant } from './local-clients.ts';

/** KMS requests only the local IAM proxy makes, to evaluate a call (see startIamProxy). */
const IAM_PROXY_LOOKUPS = new Set(['DescribeKey', 'GetKeyPolicy', 'ListAliases', 'ListResourceTags']);

/** List prices, us-east-1, as published by AWS in 2025 (USD). */
export const PRICES = {
  dynamoWriteUnit: 0.625 / 1e6, // on-demand write request unit
  dynamoReadUnit: 0.125 / 1e6, // on-demand read request unit
  kmsRequest: 0.03 / 1e4,
  httpApiRequest: 1.0 / 1e6, // HTTP API, first 300 million a month
  sqsRequest: 0.4 / 1e6, // standard queue (FIFO: 0.50; the audit queue's few requests are priced as standard)
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecond: 0.0000133334, // arm64
  logsIngestedGb: 0.5,
};
const LAMBDA_GB = 0.5; // every function has 512 MB
/** Assumed duration of one worker invocation (a batch of up to 10): stated, not measured. */
const WORKER_BATCH_SECONDS = 0.1;

const CAPACITY_OPS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'TransactGetItems',
]);
const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

type Consumed = { TableName?: string; CapacityUnits?: number; Table?: { CapacityUnits?: number } };
type Attr = { S?: string; N?: string };
type Item = Record<string, Attr>;

/**
 * The items one write request touches, by table: `[table, pk, sk]` of each (a transaction's
 * condition checks included, as DynamoDB bills them).
 */
export function itemsWritten(op: string, request: string): [string, string, string][] {
  const r = JSON.parse(request) as {
    TableName?: string;
    Item?: Item;
    Key?: Item;
    RequestItems?: Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>;
    TransactItems?: Record<string, { TableName: string; Item?: Item; Key?: Item }>[];
  };
  const keyOf = (table: string, item: Item | undefined): [string, string, string] => [
    table,
    item?.pk?.S ?? '',
    item?.sk?.S ?? item?.sk?.N ?? '',
  ];
  if (op === 'BatchWriteItem') {
    return Object.entries(r.RequestItems ?? {}).flatMap(([table, writes]) =>
      writes.map((w) => keyOf(table, w.PutRequest?.Item ?? w.DeleteRequest?.Key)),
    );
  }
  if (op === 'TransactWriteItems') {
    return (r.TransactItems ?? []).flatMap((t) =>
      Object.values(t).map((x) => keyOf(x.TableName, x.Item ?? x.Key)),
    );
  }
  return [keyOf(r.TableName ?? '', r.Item ?? r.Key)];
}

/** A partition key with its ids blanked (`ten_…`, `msg_…`, digests), so one tenant's keys group by kind. */
export const keyShape = (key: string) =>
  key
    .replace(/ten_[0-9A-Za-z]+/g, '<tenant>')
    .replace(/[a-z]+_[0-9A-HJKMNP-TV-Z]{26}/g, '<id>')
    .replace(/[0-9a-f]{16,}|[A-Za-z0-9_-]{32,}/g, '<digest>');

export interface CapacityRun {
  messages: number;
  requests: number;
  writeUnits: number;
  readUnits: number;
  writesBy: Map<string, number>;
  /**
   * Base-table write units by partition key value (`table pk`) and by item (`table pk sk`): what
   * one partition, or one item, takes of the traffic. A request's units are shared evenly among
   * the items it wrote in that table; index writes (their own partitions) are not in these.
   */
  writesByKey: Map<string, number>;
  writesByItem: Map<string, number>;
  /** Writes to the sandbox carrier's ledger: the local carrier stand-in's, not the gateway's. */
  carrierStandInUnits: number;
  seconds: number;
  kmsCalls: number;
  sqsRequests: number;
  workerInvocations: number;
  logBytes: number;
  httpSeconds: number;
}

export async function capacityBench(): Promise<{
  single: CapacityRun;
  batch: CapacityRun;
  tenants: CapacityRun;
}> {
  process.env.SMS_GATEWAY_LOCAL_METRICS = 'true'; // EMF lines are part of what is logged
  const services = await startLocalServices();
  const { ddb, sqs, kms } = services;
  let run: CapacityRun | undefined;
  const fresh = (messages: number, requests: number): CapacityRun => ({
    messages,
    requests,
    writeUnits: 0,
    readUnits: 0,
    writesBy: new Map(),
    writesByKey: new Map(),
    writesByItem: new Map(),
    carrierStandInUnits: 0,
    seconds: 0,
    kmsCalls: 0,
    sqsRequests: 0,
    workerInvocations: 0,
    logBytes: 0,
    httpSeconds: 0,
  });
  const ddbProxy = await startFaultProxy('dynamodb', ddb.endpoint, {
    rewrite: (op, body) =>
      CAPACITY_OPS.has(op)
        ? JSON.stringify({ ...JSON.parse(body), ReturnConsumedCapacity: 'INDEXES' })
        : body,
    observe: (op, request, response) => {
      if (!run || !CAPACITY_OPS.has(op)) return;
      let consumed: Consumed[] = [];
      try {
        const c = (JSON.parse(response) as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
        consumed = c === undefined ? [] : Array.isArray(c) ? c : [c];
      } catch {
        return;
      }
      for (const c of consumed) {
        const units = c.CapacityUnits ?? 0;
        if (WRITE_OPS.has(op) && (c.TableName ?? '').includes('SandboxLedger')) {
          run.carrierStandInUnits += units;
        } else if (WRITE_OPS.has(op)) {
          run.writeUnits += units;
          // Which item kinds the writes went to: the operation and the sort key's prefix.
          const sk =
            /"sk":\{"S":"([A-Z]+|[a-z]+)/.exec(request)?.[1] ??
            /"pk":\{"S":"[^"#]*#(\w+)"/.exec(request)?.[1] ??
            '';
          const table = (c.TableName ?? '').replace(/^.*-/, '');
          const what = `${op} ${table} ${sk}`.trim();
          run.writesBy.set(what, (run.writesBy.get(what) ?? 0) + units);
          const items = itemsWritten(op, request).filter(([t]) => t === c.TableName);
          const share = (c.Table?.CapacityUnits ?? units) / Math.max(1, items.length);
          for (const [t, pk, sk] of items) {
            const table = t.replace(/^.*-/, '');
            run.writesByKey.set(`${table} ${pk}`, (run.writesByKey.get(`${table} ${pk}`) ?? 0) + share);
            const item = `${table} ${pk} ${sk}`;
            run.writesByItem.set(item, (run.writesByItem.get(item) ?? 0) + share);
          }
        } else {
          run.readUnits += units;
        }
      }
    },
  });
  const kmsProxy = await startFaultProxy('kms', kms.endpoint, {
    observe: (op) => {
      // The local IAM proxy (in front of this one) looks up each key's policy, aliases, tags and
      // ARN to evaluate a call; AWS makes no such billed requests. The gateway's own DescribeKey
      // (once per tenant key created) goes uncounted with them.
      if (run && !IAM_PROXY_LOOKUPS.has(op)) run.kmsCalls++;
    },
  });
  const sqsProxy = await startFaultProxy('kms', sqs.endpoint, {
    observe: (op, _req, response) => {
      if (!run) return;
      // Empty polls are the event source's standing cost, not a message's.
      if (op === 'ReceiveMessage') {
        if (!response.includes('"Messages"')) return;
        run.workerInvocations++;
      }
      run.sqsRequests++;
    },
  });
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (run) {
      run.logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      return true;
    }
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;

  const gateway = await gatewayOn(
    { dynamodb: ddbProxy.url, sqs: sqsProxy.url, kms: kmsProxy.url },
    'capacity',
  );
  const admin = async (path: string, body: unknown) =>
    (await adminCall(gateway.url, gateway.adminToken, 'POST', path, body)) as Record<string, string>;
  const { id: tenantId, key } = await testTenant(admin, 'Capacity', 'c@example.test', 'c');
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: ddb.endpoint,
    credentials: LOCAL_CREDENTIALS,
  });
  const unfinished = async (tenantIds = [tenantId]) => {
    let n = 0;
    for (const t of tenantIds) n += await countUnfinished(client, gateway.tables.messages, t);
    return n;
  };
  const post = async (path: string, body: unknown, as = key) => {
    const t0 = performance.now();
    const res = await fetch(gateway.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    if (run) run.httpSeconds += (performance.now() - t0) / 1000;
    if (res.status >= 300) throw new Error(`${path} answered ${res.status}`);
  };
  const settle = async (tenantIds?: string[]) => {
    while ((await unfinished(tenantIds)) > 0) await new Promise((r) => setTimeout(r, 250));
    // Usage counters, audit entries: written at the end of the batches that moved the messages.
    await new Promise((r) => setTimeout(r, 2_000));
  };
  const number = (i: number) => `+1646${String(3_000_000 + i).padStart(7, '0')}`;

  // Warm up (data keys, pseudonym secrets, first calls), then measure.
  await post('/v1/messages', { to: number(0), from: 'Cap', body: 'warm up' });
  await settle();

  const SINGLE = 200;
  run = fresh(SINGLE, SINGLE);
  for (let i = 0; i < SINGLE; i += 4) {
    await Promise.all(
      [0, 1, 2, 3].map((k) =>
        post('/v1/messages', { to: number(1 + i + k), from: 'Cap', body: `Your code is ${i + k}` }),
      ),
    );
  }
  await settle();
  const single = run;

  const BATCHES = 2;
  run = fresh(BATCHES * 1_000, BATCHES);
  for (let b = 0; b < BATCHES; b++) {
    await post('/v1/messages/batch', {
      messages: Array.from({ length: 1_000 }, (_, i) => ({
        to: number(1_000 + b * 1_000 + i),
        from: 'Cap',
        body: `Your code is ${b}-${i}`,
      })),
    });
  }
  await settle();
  const batch = run;
  run = undefined;

  // KMS across many tenants: each new tenant's first messages fetch its data keys and pseudonym
  // secret, in every function that seals or opens its data, once per cache window.
  const many: { id: string; key: string }[] = [];
  for (let t = 0; t < TENANTS; t++) {
    many.push(await testTenant(admin, `Tenant ${t}`, 'c@example.test', 'c'));
  }
  run = fresh(TENANTS * PER_TENANT, TENANTS);
  const t0 = performance.now();
  for (let t = 0; t < TENANTS; t += 4) {
    await Promise.all(
      many.slice(t, t + 4).map((tn, k) =>
        post(
          '/v1/messages/batch',
          {
            messages: Array.from({ length: PER_TENANT }, (_, i) => ({
              to: number(5_000 + (t + k) * PER_TENANT + i),
              from: 'Cap',
              body: `Your code is ${t + k}-${i}`,
            })),
          },
          tn.key,
        ),
      ),
    );
  }
  await settle(many.map((tn) => tn.id));
  run.seconds = (performance.now() - t0) / 1000 - 2;
  const tenants = run;
  run = undefined;
  process.stdout.write = write;
  delete process.env.SMS_GATEWAY_LOCAL_METRICS;

  await gateway.stop();
  for (const p of [ddbProxy, kmsProxy, sqsProxy]) await p.close();
  await services.stop();
  return { single, batch, tenants };
}

/** The many-tenant KMS run: how many tenants, and messages each. */
export const TENANTS = 100;
const PER_TENANT = 20;
/** How long a data key or unwrapped secret is used before KMS is asked again. */
export const CACHE_WINDOW_SECONDS = DEFAULT_LIMITS.maxAgeMs / 1000;

/** Dollars per million messages, by service, from a run's counts. */
export function costPerMillion(r: CapacityRun) {
  const per = (x: number) => (x / r.messages) * 1e6;
  const lambdaRequests = r.requests + r.workerInvocations;
  const gbSeconds = (r.httpSeconds + r.workerInvocations * WORKER_BATCH_SECONDS) * LAMBDA_GB;
  const parts = {
    DynamoDB: per(r.writeUnits * PRICES.dynamoWriteUnit + r.readUnits * PRICES.dynamoReadUnit),
    KMS: per(r.kmsCalls * PRICES.kmsRequest),
    'API Gateway': per(r.requests * PRICES.httpApiRequest),
    SQS: per(r.sqsRequests * PRICES.sqsRequest),
    Lambda: per(lambdaRequests * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecond),
    'CloudWatch Logs': per((r.logBytes / 1e9) * PRICES.logsIngestedGb),
  };
  return { parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}

export const ASSUMPTIONS = `Lambda compute: 512 MB; the HTTP functions' duration taken as the measured request round trip (an upper bound); each worker invocation (a batch) assumed ${WORKER_BATCH_SECONDS * 1000} ms. Test keys, sandbox carrier (carrier fees excluded). Prices: ${JSON.stringify(PRICES)}.`;
