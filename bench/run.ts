// Benchmarks of the gateway. Every figure is a ratio against a baseline measured in the
// same run, because the machines are shared and noisy. Writes bench/out/results.md.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startGateway } from '../infra/local/gateway.ts';
import { lambdaContext } from '../infra/local/http-gateway.ts';
import { freePort, startDynamoDbLocal, startKms, startSqs } from '../infra/local/services.ts';
import { generateApiKey } from '../layers/core/api-keys.ts';
import { DEFAULT_CONTROLS } from '../layers/core/controls.ts';
import { prepareMessage } from '../layers/core/messages.ts';
import { DEFAULT_RETENTION, type MessageRecord } from '../layers/core/model.ts';
import { makeSendMessage } from '../layers/core/use-cases/send-messages.ts';
import { idempotencyKeyFrom, parseJsonBody, parseWith, tenantRoute } from '../layers/http/handler.ts';
import { SendMessageRequest } from '../layers/http/schemas.ts';
import { FakeMessageStore, fakeSendDeps } from '../test/support/fakes.ts';
import { spawnGateway } from '../test/support/gateway-process.ts';
import { bundle, FUNCTIONS } from './bundle.ts';
import { ASSUMPTIONS, type CapacityRun, capacityBench, costPerMillion } from './capacity.ts';
import { encryptionBench, SealingMessageStore } from './encryption.ts';
import { fmt, median, OUT, report } from './report.ts';

const { lines, say } = report();

function httpEvent(body: string, authorizer: Record<string, unknown>) {
  return {
    version: '2.0',
    routeKey: 'POST /v1/messages',
    rawPath: '/v1/messages',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      requestId: 'bench',
      routeKey: 'POST /v1/messages',
      http: {
        method: 'POST',
        path: '/v1/messages',
        sourceIp: '127.0.0.1',
        protocol: 'HTTP/1.1',
        userAgent: 'bench',
      },
      authorizer: { lambda: authorizer },
    },
    body,
    isBase64Encoded: false,
  } as never;
}

const AUTH = {
  authenticated: true,
  tenantId: 'ten_bench',
  keyId: 'key_bench',
  mode: 'test',
  scopes: 'send,read',
  bodyRetentionDays: 7,
  metadataRetentionDays: 90,
  residency: 'forward',
};
const BODY = JSON.stringify({
  to: '+12025550100',
  from: 'Acme',
  body: 'Your code is 123456',
  reference: 'bench',
});

/**
 * The send path's fakes with every policy check on, and flood limits out of reach: the bench sends
 * one body to one number over and over, which would otherwise be refused after six.
 */
function benchDeps() {
  const deps = fakeSendDeps();
  void deps.tenants.createTenant({
    id: AUTH.tenantId,
    displayName: 'Bench',
    legalName: 'Bench Ltd',
    contactEmail: 'bench@example.com',
    homeJurisdiction: 'global',
    status: 'active',
    createdAt: new Date().toISOString(),
    retention: DEFAULT_RETENTION,
    residency: 'forward',
    controls: { ...DEFAULT_CONTROLS, flood: { identicalPerHour: 1e12, perHour: 1e12 } },
  });
  return deps;
}

/** Fails the bench if a measured handler refused the request: a refusal is faster than the work. */
async function expectAccepted(call: () => Promise<unknown>) {
  const res = (await call()) as { statusCode?: number; body?: string };
  if (res.statusCode !== 202)
    throw new Error(`bench request was not accepted: ${res.statusCode} ${res.body}`);
}

/** Runs fn repeatedly for `ms` and returns operations per second (best of three rounds). */
async function rate(fn: () => Promise<unknown> | unknown, ms = 1500): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 100; i++) await fn();
      n += 100;
    }
    rounds.push(n / ((performance.now() - start) / 1000));
  }
  return Math.max(...rounds);
}

async function inProcessIngest() {
  say('## 1. In-process ingest (send-message handler with fakes of the ports)');
  const event = httpEvent(BODY, AUTH);
  const baseline = await rate(() => parseWith(SendMessageRequest, parseJsonBody(event), 'pointer'));
  const send = makeSendMessage(benchDeps());
  // The same handler composition as functions/send-message.ts, with in-memory ports.
  const handler = tenantRoute('send', async (e, tenant) => {
    const key = idempotencyKeyFrom(e);
    const input = parseWith(SendMessageRequest, parseJsonBody(e), 'pointer');
    const { result } = await send(tenant, input, 'global', key);
    return { status: 202, body: result };
  });
  const ctx = lambdaContext('bench', 1000);
  await expectAccepted(() => handler(event, ctx));
  const full = await rate(() => handler(event, ctx));
  say('| measure | messages/s | ratio to baseline |');
  say('|---|---:|---:|');
  say(`| baseline: JSON parse + zod validation | ${fmt(baseline)} | 1.00 |`);
  say(
    `| full handler: auth context, validation, number and body analysis, policy checks (sender ID, block list, opt-out, content, flood, cap), store, enqueue | ${fmt(full)} | ${fmt(full / baseline, 2)} |`,
  );
  say();
}

async function encryption() {
  say('## 1b. Encryption at rest (issue 3): KMS calls, bytes added, ingest throughput');
  say();
  const bench = await encryptionBench();
  try {
    const messages = (n: number, tenants: number) =>
      Array.from({ length: n }, (_, i) => {
        const prepared = prepareMessage(
          { to: '+4915123456789', from: 'Acme', body: 'Your code is 123456', reference: `order-${i}` },
          { tenantId: `ten_${i % tenants}`, mode: 'live', retention: DEFAULT_RETENTION },
          { id: `msg_${String(i).padStart(26, '0')}`, now: new Date() },
        );
        if (!prepared.ok) throw new Error('fixture');
        return prepared.message;
      });
    const batch = messages(10_000, 50);
    say('KMS requests to seal 10,000 messages spread over 50 tenants (one cache window):');
    say();
    say('| design | KMS requests | per tenant | bytes of ciphertext per message | bytes added per message |');
    say('|---|---:|---:|---:|---:|');
    const plainBytes = (m: MessageRecord) =>
      Buffer.byteLength(m.to) + Buffer.byteLength(m.reference ?? '') + Buffer.byteLength(m.body ?? '');
    for (const [name, make] of [
      ['AES-256-GCM, cached data key (chosen)', async () => bench.aesGcm()],
      ['Encryption SDK, caching CMM', () => bench.sdk(50)],
    ] as const) {
      const seal = await make();
      bench.resetCalls();
      let bytes = 0;
      for (const m of batch) bytes += await seal(m);
      const calls = Object.values(bench.kmsCalls()).reduce((a, b) => a + b, 0);
      const perMessage = bytes / batch.length;
      const added = perMessage - plainBytes(batch[0]!);
      say(`| ${name} | ${fmt(calls)} | ${fmt(calls / 50, 1)} | ${fmt(perMessage)} | ${fmt(added)} |`);
    }
    say();
    say('(Per tenant: CreateKey + CreateAlias for its key, GenerateDataKey for its pseudonym secret, then');
    say('GenerateDataKey for message data keys: one per cache window. "Bytes added" counts the wrapped data');
    say("key stored once per item (two items per message) and each field's version, IV and tag; the");
    say('pseudonym index attribute adds about 70 bytes more in both designs.)');
    say();

    const event = httpEvent(BODY.replace('+12025550100', '+4915123456789'), AUTH);
    // Each variant keeps what it stores only briefly: otherwise the heap grows through the run and
    // whichever variant runs later pays for the others' garbage.
    const handlerWith = (store: FakeMessageStore) => {
      const deps = benchDeps();
      deps.stores.eu.messages = store;
      const queue = deps.stores.eu.queue;
      const send = makeSendMessage(deps);
      const handler = tenantRoute('send', async (e, tenant) => {
        const input = parseWith(SendMessageRequest, parseJsonBody(e), 'pointer');
        const { result } = await send(tenant, input, 'eu', idempotencyKeyFrom(e));
        return { status: 202, body: result };
      });
      return async (e: Parameters<typeof handler>[0], c: Parameters<typeof handler>[1]) => {
        if (store.items.size >= 1000) {
          store.items.clear();
          queue.sent.length = 0;
        }
        return handler(e, c);
      };
    };
    const ctx = lambdaContext('bench', 1000);
    const plain = handlerWith(new FakeMessageStore());
    const gcm = handlerWith(new SealingMessageStore(bench.aesGcm()));
    const sdk = handlerWith(new SealingMessageStore(await bench.sdk(1)));
    // Warm the caches (key creation is a one-off per tenant), and make sure every variant accepts.
    for (const h of [plain, gcm, sdk]) {
      for (let i = 0; i < 200; i++) {
        const res = await h(event, ctx);
        if (res.statusCode !== 202) throw new Error(`bench handler answered ${res.statusCode}: ${res.body}`);
      }
    }
    // Every request must be accepted; a failure would make a variant look faster than it is.
    const failures = { plain: 0, gcm: 0, sdk: 0 };
    const counted = (name: keyof typeof failures, h: typeof plain) => async () => {
      const res = await h(event, ctx);
      if (res.statusCode !== 202) failures[name]++;
    };
    const kmsDuring = (): number => Object.values(bench.kmsCalls()).reduce((x, y) => x + y, 0);
    const plainRate = await rate(counted('plain', plain));
    bench.resetCalls();
    const gcmRate = await rate(counted('gcm', gcm));
    const gcmKms = kmsDuring();
    bench.resetCalls();
    const sdkRate = await rate(counted('sdk', sdk));
    const sdkKms = kmsDuring();
    say(`(KMS requests during the measurement: AES-256-GCM ${gcmKms}, Encryption SDK ${sdkKms})`);
    if (failures.plain + failures.gcm + failures.sdk > 0) {
      say(`(requests refused during the measurement: ${JSON.stringify(failures)})`);
    }
    say(
      'In-process ingest of one message per request (handler, validation, classification, sealing, fakes of the stores):',
    );
    say();
    say('| measure | messages/s | ratio to no encryption |');
    say('|---|---:|---:|');
    say(`| baseline: no encryption | ${fmt(plainRate)} | 1.00 |`);
    say(
      `| AES-256-GCM under a cached data key (chosen) | ${fmt(gcmRate)} | ${fmt(gcmRate / plainRate, 2)} |`,
    );
    say(`| AWS Encryption SDK, caching CMM | ${fmt(sdkRate)} | ${fmt(sdkRate / plainRate, 2)} |`);
    say();
  } finally {
    await bench.stop();
  }
}

async function bundles() {
  say("## 2. Bundle size per function (esbuild metafile, the CDK app's options: AWS SDK bundled)");
  say('| function | bundle KB | of which AWS SDK KB | own code and libraries KB |');
  say('|---|---:|---:|---:|');
  const built: Record<string, string> = {};
  for (const f of FUNCTIONS) {
    const b = await bundle(join('functions', `${f}.ts`), join(OUT, 'bundles'));
    built[f] = b.outfile;
    say(
      `| ${f} | ${fmt(b.bytes / 1024)} | ${fmt(b.sdkBytes / 1024)} | ${fmt((b.bytes - b.sdkBytes) / 1024)} |`,
    );
  }
  const emptyFile = join(OUT, 'empty.ts');
  writeFileSync(emptyFile, 'export const handler = async () => ({ statusCode: 200, body: "" });\n');
  const empty = await bundle(emptyFile, join(OUT, 'bundles'));
  built.empty = empty.outfile;
  say(`| (empty handler) | ${fmt(empty.bytes / 1024, 1)} | 0 | ${fmt(empty.bytes / 1024, 1)} |`);
  say();
  return built;
}

const PROBE = `
const t0 = performance.now();
const { handler } = await import(process.argv[1]);
const t1 = performance.now();
await handler(JSON.parse(process.argv[2]), { getRemainingTimeInMillis: () => 10000, awsRequestId: 'b', functionName: 'b' });
const t2 = performance.now();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, firstCallMs: t2 - t1 }));
`;

async function coldStarts(built: Record<string, string>) {
  say('## 3. Import plus first call of each bundled function (fresh node process, median of 5)');
  const dynamodb = await startDynamoDbLocal({ port: await freePort() });
  const sqs = await startSqs({ port: 0 });
  const kms = await startKms({ port: 0, region: 'us-east-1' });
  const gw = await startGateway({
    port: 0,
    services: { kind: 'external', dynamodb: dynamodb.endpoint, sqs: sqs.endpoint, kms: kms.endpoint },
    prefix: 'bench',
  });
  await gw.stop(); // provisioning only: the probes call the functions directly
  const ref = { tenantId: 'ten_bench', messageId: 'msg_00000000000000000000000000', jurisdiction: 'global' };
  const sqsEvent = (body: unknown) => ({
    Records: [
      {
        messageId: '1',
        receiptHandle: 'r',
        body: JSON.stringify(body),
        attributes: { ApproximateReceiveCount: '1' },
      },
    ],
  });
  const events: Record<string, unknown> = {
    // A well-formed key nobody issued: the full path (pepper from KMS, key look-up), then 401.
    authorize: {
      headers: { authorization: `Bearer ${generateApiKey('test')}` },
      routeKey: 'GET /v1/messages',
    },
    'send-message': httpEvent(BODY, AUTH),
    'send-batch': httpEvent(JSON.stringify({ messages: [JSON.parse(BODY)] }), AUTH),
    'get-message': { ...(httpEvent('', AUTH) as object), pathParameters: { id: ref.messageId } },
    'list-messages': httpEvent('', AUTH),
    'delete-message-body': {
      ...(httpEvent('', AUTH) as object),
      routeKey: 'DELETE /v1/messages/{id}/body',
      pathParameters: { id: ref.messageId },
    },
    subjects: {
      ...(httpEvent('', AUTH) as object),
      routeKey: 'GET /v1/subjects/{phone}/export',
      pathParameters: { phone: '+4915123456789' },
    },
    'get-openapi': httpEvent('', AUTH),
    admin: { ...(httpEvent('', {}) as object), routeKey: 'GET /admin/tenants' },
    'dispatch-messages': sqsEvent(ref),
    'apply-carrier-events': sqsEvent({
      kind: 'delivery_receipt',
      ...ref,
      carrierMessageId: 'c',
      status: 'delivered',
      occurredAt: new Date().toISOString(),
    }),
    empty: {},
  };
  // Asynchronous spawn: the local SQS and the KMS stand-in run in this process and must keep answering.
  const probe = (file: string, event: unknown) =>
    new Promise<{ importMs: number; firstCallMs: number }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-e', PROBE, file, JSON.stringify(event)],
        {
          env: { ...process.env, ...gw.env },
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.on('exit', (code) =>
        code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${file}: ${err}`)),
      );
    });
  const measure = async (file: string, event: unknown) => {
    const runs: { importMs: number; firstCallMs: number }[] = [];
    for (let i = 0; i < 5; i++) runs.push(await probe(file, event));
    const total = median(runs.map((r) => r.importMs + r.firstCallMs));
    return {
      importMs: median(runs.map((r) => r.importMs)),
      firstCallMs: median(runs.map((r) => r.firstCallMs)),
      total,
    };
  };
  const base = await measure(built.empty!, {});
  say('| function | import ms | first call ms | total ms | ratio to empty handler |');
  say('|---|---:|---:|---:|---:|');
  say(
    `| (empty handler) | ${fmt(base.importMs, 1)} | ${fmt(base.firstCallMs, 1)} | ${fmt(base.total, 1)} | 1.0 |`,
  );
  for (const f of FUNCTIONS) {
    const m = await measure(built[f]!, events[f]);
    say(
      `| ${f} | ${fmt(m.importMs, 1)} | ${fmt(m.firstCallMs, 1)} | ${fmt(m.total, 1)} | ${fmt(m.total / base.total, 1)} |`,
    );
  }
  say();
  say(
    "First calls reach the real local services (DynamoDB Local, the local SQS, the KMS stand-in); the authorizer's includes creating and unwrapping the API key pepper.",
  );
  say();
  await Promise.all([dynamodb.stop(), sqs.stop(), kms.stop()]);
}

const BARE_SERVER = `
import { createServer } from 'node:http';
const s = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString());
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"message":{"id":"msg_x","status":"queued"}}');
  });
});
s.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ ready: true, url: 'http://127.0.0.1:' + s.address().port }) + '\\n'));
`;

async function load(url: string, headers: Record<string, string>) {
  const result = await autocannon({
    url: `${url}/v1/messages`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: BODY,
    connections: 16,
    duration: 10,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
  };
}

async function httpThroughput() {
  say('## 4. Local HTTP throughput of POST /v1/messages (autocannon, 16 connections, 10 s)');
  const bare = spawn(process.execPath, ['--input-type=module', '-e', BARE_SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const bareUrl = await new Promise<string>((resolve) =>
    bare.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { url: string }).url)),
  );
  const baseline = await load(bareUrl, {});
  bare.kill();
  const gw = await spawnGateway([
    '--in-memory',
    '--port',
    '0',
    '--dynamodb-port',
    '0',
    '--sqs-port',
    '0',
    '--kms-port',
    '0',
  ]);
  const admin = (path: string, body: unknown, method = 'POST') =>
    fetch(gw.url + path, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<Record<string, string>>);
  const tenant = await admin('/admin/tenants', {
    displayName: 'Bench',
    legalName: 'Bench Ltd',
    contactEmail: 'b@b.test',
    homeJurisdiction: 'global',
  });
  const key = await admin(`/admin/tenants/${tenant.id}/keys`, {
    name: 'bench',
    mode: 'test',
    scopes: ['send'],
  });
  // One body to one number, as fast as it goes: lift the per-recipient flood limits and the
  // request rate limit, which would otherwise (rightly) refuse most of the run.
  const lifted = await admin(
    `/admin/tenants/${tenant.id}/controls`,
    // The highest limits the API takes: far above what a 10 s local run can send.
    { flood: { identicalPerHour: 10_000, perHour: 100_000 }, rateLimit: { perMinute: 1e6, burst: 100_000 } },
    'PUT',
  );
  if (!lifted.controls)
    throw new Error(`could not lift the bench tenant's limits: ${JSON.stringify(lifted)}`);
  const gateway = await load(gw.url, { authorization: `Bearer ${key.secret}` });
  gw.child.kill('SIGTERM');
  say('| server | requests/s | p50 ms | p99 ms | non-2xx | ratio to bare node:http |');
  say('|---|---:|---:|---:|---:|---:|');
  say(
    `| bare node:http (parse JSON, answer 202) | ${fmt(baseline.rps)} | ${baseline.p50} | ${baseline.p99} | ${baseline.non2xx} | 1.00 |`,
  );
  say(
    `| gateway (local runtime, DynamoDB Local + local SQS, dispatch worker running) | ${fmt(gateway.rps)} | ${gateway.p50} | ${gateway.p99} | ${gateway.non2xx} | ${fmt(gateway.rps / baseline.rps, 3)} |`,
  );
  say();
}

async function capacity() {
  say('## 5. AWS requests and cost per message (local runtime, counted by proxies in front of the services)');
  const { single, batch } = await capacityBench();
  const row = (label: string, f: (r: CapacityRun) => string) =>
    say(`| ${label} | ${f(single)} | ${f(batch)} |`);
  say('| per message | one per request | through the batch endpoint |');
  say('|---|---:|---:|');
  row('messages measured', (r) => fmt(r.messages));
  row('DynamoDB write units (aim: at most 3)', (r) => fmt(r.writeUnits / r.messages, 2));
  row('DynamoDB read units', (r) => fmt(r.readUnits / r.messages, 2));
  row('KMS calls', (r) => fmt(r.kmsCalls / r.messages, 4));
  row('SQS requests (without empty polls)', (r) => fmt(r.sqsRequests / r.messages, 2));
  row('worker invocations', (r) => fmt(r.workerInvocations / r.messages, 2));
  row('bytes logged', (r) => fmt(r.logBytes / r.messages));
  const costs = [costPerMillion(single), costPerMillion(batch)];
  for (const service of Object.keys(costs[0]!.parts)) {
    say(
      `| cost per million: ${service} (USD) | ${fmt(costs[0]!.parts[service as keyof (typeof costs)[0]['parts']], 2)} | ${fmt(costs[1]!.parts[service as keyof (typeof costs)[0]['parts']], 2)} |`,
    );
  }
  say(
    `| **cost per million, total (aims: 3.00 and 2.00 USD)** | **${fmt(costs[0]!.total, 2)}** | **${fmt(costs[1]!.total, 2)}** |`,
  );
  say(`| ratio to the aim | ${fmt(costs[0]!.total / 3, 2)} | ${fmt(costs[1]!.total / 2, 2)} |`);
  say();
  say('Write units by operation, table and item kind (per message, one per request):');
  say();
  for (const [what, units] of [...single.writesBy.entries()].sort((a, b) => b[1] - a[1])) {
    say(`- ${what}: ${fmt(units / single.messages, 2)}`);
  }
  say();
  say(ASSUMPTIONS);
  say();
}

async function main() {
  const only = process.argv.slice(2);
  say('# Benchmark results');
  say();
  say(
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}; ${new Date().toISOString()}`,
  );
  say();
  if (only.length === 0 || only.includes('ingest')) await inProcessIngest();
  if (only.length === 0 || only.includes('encryption')) await encryption();
  let built: Record<string, string> | undefined;
  if (only.length === 0 || only.includes('bundles') || only.includes('cold')) built = await bundles();
  if (built && (only.length === 0 || only.includes('cold'))) await coldStarts(built);
  if (only.length === 0 || only.includes('http')) await httpThroughput();
  if (only.length === 0 || only.includes('capacity')) await capacity();
  writeFileSync(join(OUT, 'results.md'), `${lines.join('\n')}\n`);
  say(`(written to ${join('bench', 'out', 'results.md')})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
