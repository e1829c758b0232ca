// Local HTTP ingest against its baseline (what the emulators take written to directly), and the
// noisy-neighbour run: one tenant sending a hundred times another's rate.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import autocannon from 'autocannon';
import { adminCall } from '../infra/local/admin-call.ts';
import { ensureQueue, ensureTable } from '../infra/local/provision.ts';
import { freePort, LOCAL_CREDENTIALS, startDynamoDbLocal, startSqs } from '../infra/local/services.ts';
import { QUEUES, TABLES } from '../infra/resources.ts';
import { type GatewayProcess, ON_FREE_PORTS, spawnGateway } from '../test/support/gateway-process.ts';
import { median } from './report.ts';

export const BODY = JSON.stringify({
  to: '+12025550100',
  from: 'Acme',
  body: 'Your code is 123456',
  reference: 'bench',
});

const CONNECTIONS = 16;
const SECONDS = 10;

/**
 * The baseline of local HTTP ingest: what a message minimally is on the emulators, written
 * straight to them with the same concurrency as the HTTP run: one PutItem of an item the size of
 * a stored message (1 KB) into a table with the messages table's indexes, and one SQS message.
 */
export async function directEmulatorWrites() {
  const ddb = await startDynamoDbLocal({ port: await freePort() });
  const sqs = await startSqs({ port: 0 });
  try {
    const opts = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
    const clients = {
      dynamodb: new DynamoDBClient({ ...opts, endpoint: ddb.endpoint }),
      sqs: new SQSClient({ ...opts, endpoint: sqs.endpoint }),
    };
    const table = 'bench-direct';
    await ensureTable(clients.dynamodb, table, TABLES.messages);
    const queue = await ensureQueue(clients.sqs, 'bench-direct-dispatch', QUEUES.dispatch, 180);
    const sealed = randomBytes(600).toString('base64');
    let n = 0;
    const end = performance.now() + SECONDS * 1000;
    const loop = async () => {
      while (performance.now() < end) {
        const id = `msg_${randomBytes(13).toString('hex')}`;
        await clients.dynamodb.send(
          new PutItemCommand({
            TableName: table,
            Item: marshall({
              pk: 'ten_bench',
              sk: `MSG#${id}`,
              gsi2pk: 'ten_bench#subject',
              gsi2sk: id,
              status: 'queued',
              sealed,
            }),
          }),
        );
        await clients.sqs.send(
          new SendMessageCommand({
            QueueUrl: queue.url,
            MessageBody: JSON.stringify({ tenantId: 'ten_bench', messageId: id, jurisdiction: 'global' }),
          }),
        );
        n++;
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: CONNECTIONS }, loop));
    return n / ((performance.now() - start) / 1000);
  } finally {
    await Promise.all([ddb.stop(), sqs.stop()]);
  }
}

export async function startBenchGateway() {
  return spawnGateway(['--in-memory', ...ON_FREE_PORTS]);
}

const admin = (gw: GatewayProcess, path: string, body: unknown, method = 'POST') =>
  adminCall(gw.url, gw.adminToken, method, path, body);

/** A test-mode tenant with a send key and the given request rate limit. */
export async function benchTenant(
  gw: GatewayProcess,
  name: string,
  rateLimit: { perMinute: number; burst: number },
) {
  const tenant = await admin(gw, '/admin/tenants', {
    displayName: name,
    legalName: `${name} Ltd`,
    contactEmail: 'b@b.test',
    homeJurisdiction: 'global',
  });
  const key = await admin(gw, `/admin/tenants/${String(tenant.id)}/keys`, {
    name: 'bench',
    mode: 'test',
    scopes: ['send'],
  });
  // The bench sends one body to one number: lift the per-recipient flood limits (to the highest
  // the API takes), which would otherwise rightly refuse most of the run.
  const set = await admin(
    gw,
    `/admin/tenants/${String(tenant.id)}/controls`,
    { flood: { identicalPerHour: 10_000, perHour: 100_000 }, rateLimit },
    'PUT',
  );
  if (!set.controls) throw new Error(`could not set the bench tenant's limits: ${JSON.stringify(set)}`);
  return String(key.secret);
}

export async function httpIngest(gw: GatewayProcess, key: string, overallRate?: number) {
  const result = await autocannon({
    url: `${gw.url}/v1/messages`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: BODY,
    connections: CONNECTIONS,
    duration: SECONDS,
    ...(overallRate ? { overallRate } : {}),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    statuses: {
      '2xx': result['2xx'],
      '4xx': result['4xx'],
      '5xx': result['5xx'],
    },
  };
}

/**
 * Sends at a steady `perSecond` for `seconds` (open loop: a slow answer does not delay the next
 * request) and returns every request's latency and status.
 */
async function steady(url: string, key: string, perSecond: number, seconds: number) {
  const results: { ms: number; status: number }[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < perSecond * seconds; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      (async () => {
        const t0 = performance.now();
        const res = await fetch(`${url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: BODY,
        });
        await res.arrayBuffer();
        results.push({ ms: performance.now() - t0, status: res.status });
      })(),
    );
  }
  await Promise.all(pending);
  return results;
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] ?? 0;

/**
 * Tenant B sends steadily; tenant A then sends 100 times B's rate, far above its own limit. B's
 * p95 latency alone is the baseline; A must be refused with 429 and B not at all.
 */
export async function noisyNeighbour(gw: GatewayProcess, bRate = 4, seconds = 30) {
  const b = await benchTenant(gw, 'Quiet', { perMinute: 6_000, burst: 200 });
  // A may send as fast as B does: everything above that is refused.
  const a = await benchTenant(gw, 'Noisy', { perMinute: bRate * 60, burst: 10 });
  // Warm up both tenants' caches and data keys.
  await steady(gw.url, b, 5, 1);
  await steady(gw.url, a, 5, 1);
  const alone = await steady(gw.url, b, bRate, seconds);
  const noisy = autocannon({
    url: `${gw.url}/v1/messages`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${a}` },
    body: BODY,
    connections: 10,
    duration: seconds + 2,
    overallRate: bRate * 100,
  });
  await new Promise((r) => setTimeout(r, 1_000));
  const beside = await steady(gw.url, b, bRate, seconds);
  const aResult = await noisy;
  const bad = (rs: { status: number }[]) => rs.filter((r) => r.status !== 202).length;
  return {
    bRate,
    aRate: aResult.requests.average,
    aSent: aResult.requests.total,
    a429: aResult.non2xx, // every non-2xx of A's; checked against its status codes below
    a2xx: aResult['2xx'],
    a4xx: aResult['4xx'],
    a5xx: aResult['5xx'],
    alone: { p50: median(alone.map((r) => r.ms)), p95: p95(alone.map((r) => r.ms)), refused: bad(alone) },
    beside: { p50: median(beside.map((r) => r.ms)), p95: p95(beside.map((r) => r.ms)), refused: bad(beside) },
  };
}
