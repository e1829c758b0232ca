// Benchmarks of the gateway. Every figure is a ratio against a baseline measured in the
// same run, because the machines are shared and noisy. Writes bench/results.md.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { prepareMessage } from '../functions/messages/model.ts';
import { SendMessageRequest } from '../functions/messages/schemas.ts';
import { makeSendMessage } from '../functions/messages/use-cases/send-messages.ts';
import { functionFile } from '../infra/function-files.ts';
import { startGateway } from '../infra/local/gateway.ts';
import { lambdaContext } from '../infra/local/http-gateway.ts';
import { LOCAL_CREDENTIALS } from '../infra/local/services.ts';
import { generateApiKey } from '../layers/core/api-keys.ts';
import { DEFAULT_CONTROLS } from '../layers/core/controls.ts';
import { DEFAULT_RETENTION, type MessageRecord } from '../layers/core/model.ts';
import { idempotencyKeyFrom, parseJsonBody, parseWith, tenantRoute } from '../layers/http/handler.ts';
import { routeKey } from '../layers/http/route.ts';
import { ROUTES } from '../layers/http/routes.ts';
import { present } from '../layers/present.ts';
import { FakeMessageStore, fakeSendDeps } from '../test/support/fakes.ts';
import { bundle, FUNCTIONS } from './bundle.ts';
import {
  ASSUMPTIONS,
  CACHE_WINDOW_SECONDS,
  type CapacityRun,
  capacityBench,
  costPerMillion,
  keyShape,
  TENANTS,
} from './capacity.ts';
import { encryptionBench, SealingMessageStore } from './encryption.ts';
import {
  BODY,
  benchTenant,
  directEmulatorWrites,
  httpIngest,
  noisyNeighbour,
  startBenchGateway,
} from './http.ts';
import { kannelSection } from './kannel.ts';
import { startLocalServices } from './local-clients.ts';
import { fmt, median, OUT, report } from './report.ts';
import { callSequence, roundTripsBench } from './round-trips.ts';

const { lines, say } = report();

/** Every aim of the issue, as measured: the value, what it is compared with, and the ratio. */
const aims: { aim: string; value: string; baseline: string; ratio: string; met: boolean }[] = [];
const aim = (a: (typeof aims)[number]) => aims.push(a);

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
  // The same handler composition as functions/messages/send-message.ts, with in-memory ports.
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
  aim({
    aim: 'In-process ingest on one core: at least 10,000 messages/s',
    value: `${fmt(full)} msg/s`,
    baseline: `${fmt(baseline)} msg/s (JSON parse + zod validation alone)`,
    ratio: fmt(full / baseline, 2),
    met: full >= 10_000,
  });
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
      const added = perMessage - plainBytes(present(batch[0], 'the first message of the batch'));
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
  let worst = { f: '', own: 0, sdk: 0, bytes: 0 };
  for (const f of FUNCTIONS) {
    const b = await bundle(relative(process.cwd(), functionFile(f)), join(OUT, 'bundles'));
    built[f] = b.outfile;
    if (b.bytes - b.sdkBytes > worst.own)
      worst = { f, own: b.bytes - b.sdkBytes, sdk: b.sdkBytes, bytes: b.bytes };
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
  aim({
    aim: 'Bundle: at most the AWS SDK it uses + 300 KB, every function',
    value: `${fmt(worst.bytes / 1024)} KB (${worst.f}, the most above its SDK: ${fmt(worst.own / 1024)} KB)`,
    baseline: `${fmt(worst.sdk / 1024)} KB of AWS SDK in it`,
    ratio: fmt(worst.bytes / worst.sdk, 2),
    met: worst.own <= 300 * 1024,
  });
  return built;
}

const PROBE = `
const t0 = performance.now();
const { handler } = await import(process.argv[1]);
const t1 = performance.now();
let failed = false;
try {
  await handler(JSON.parse(process.argv[2]), { getRemainingTimeInMillis: () => 10000, awsRequestId: 'b', functionName: 'b' });
} catch {
  failed = true;
}
const t2 = performance.now();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, firstCallMs: t2 - t1, failed }));
`;

/** The text after the last line break (all of it when there is none). */
const lastLine = (text: string) => text.slice(text.lastIndexOf('\n') + 1);

async function coldStarts(built: Record<string, string>) {
  say('## 3. Import plus first call of each bundled function (fresh node process, median of 5)');
  const services = await startLocalServices();
  const { ddb: dynamodb, sqs, kms } = services;
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
    'record-audit-events': sqsEvent({
      tenantId: 'ten_bench',
      at: new Date().toISOString(),
      actor: { type: 'api_key', keyId: 'key_bench' },
      action: 'listMessages',
      route: 'GET /v1/messages',
      targets: [],
      ip: '127.0.0.1',
      userAgent: 'bench',
      outcome: 'success',
      status: 200,
      requestId: 'bench',
    }),
    empty: {},
  };
  // Every other HTTP function: its first GET route (or first route), ids in the path.
  for (const f of FUNCTIONS) {
    if (events[f] !== undefined) continue;
    const route =
      ROUTES.find((r) => r.function === f && r.method === 'GET') ?? ROUTES.find((r) => r.function === f);
    events[f] = route
      ? {
          ...(httpEvent('', AUTH) as object),
          routeKey: routeKey(route),
          pathParameters: Object.fromEntries(
            [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1], ref.messageId]),
          ),
        }
      : sqsEvent({});
  }
  // Asynchronous spawn: the local SQS and the KMS stand-in run in this process and must keep answering.
  // Each function's own settings from its template (the global region's), against the services
  // directly: the gateway, its IAM proxies included, is stopped by now.
  const envOf = (f: string) => {
    const found = [...gw.functions.values()].find(
      (x) => x.jurisdiction === 'global' && x.path.split('/').includes(f),
    );
    return {
      ...found?.fn.spec.env,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    };
  };
  const probe = (file: string, event: unknown, f = '') =>
    new Promise<{ importMs: number; firstCallMs: number; failed: boolean }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-e', PROBE, file, JSON.stringify(event)],
        {
          env: { ...process.env, ...envOf(f) },
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
        // The probe's answer is its last line (a function may log before it).
        code === 0 ? resolve(JSON.parse(lastLine(out.trim()))) : reject(new Error(`${file}: ${err}`)),
      );
    });
  const measure = async (file: string, event: unknown, f = '') => {
    const runs: { importMs: number; firstCallMs: number; failed: boolean }[] = [];
    for (let i = 0; i < 5; i++) runs.push(await probe(file, event, f));
    const total = median(runs.map((r) => r.importMs + r.firstCallMs));
    return {
      importMs: median(runs.map((r) => r.importMs)),
      firstCallMs: median(runs.map((r) => r.firstCallMs)),
      total,
      failed: runs.some((r) => r.failed),
    };
  };
  const base = await measure(present(built.empty, "the empty handler's bundle"), {});
  say('| function | import ms | first call ms | total ms | ratio to empty handler |');
  say('|---|---:|---:|---:|---:|');
  say(
    `| (empty handler) | ${fmt(base.importMs, 1)} | ${fmt(base.firstCallMs, 1)} | ${fmt(base.total, 1)} | 1.0 |`,
  );
  let worstCold = { f: '', ratio: 0, total: 0 };
  for (const f of FUNCTIONS) {
    const m = await measure(present(built[f], `${f}'s bundle`), events[f], f);
    if (m.total / base.total > worstCold.ratio)
      worstCold = { f, ratio: m.total / base.total, total: m.total };
    say(
      `| ${f}${m.failed ? ' (first call threw)' : ''} | ${fmt(m.importMs, 1)} | ${fmt(m.firstCallMs, 1)} | ${fmt(m.total, 1)} | ${fmt(m.total / base.total, 1)} |`,
    );
  }
  say();
  say(
    "First calls reach the real local services (DynamoDB Local, the local SQS, the KMS stand-in); the authorizer's includes creating and unwrapping the API key pepper.",
  );
  say();
  await services.stop();
  aim({
    aim: 'Import + first call: at most 15 times an empty handler, every function',
    value: `${fmt(worstCold.total, 1)} ms (${worstCold.f}, the slowest)`,
    baseline: `${fmt(base.total, 1)} ms (empty handler)`,
    ratio: fmt(worstCold.ratio, 1),
    met: worstCold.ratio <= 15,
  });
}

async function httpThroughput() {
  say('## 4. Local HTTP ingest of POST /v1/messages (16 connections, 10 s)');
  say();
  const direct = await directEmulatorWrites();
  const gw = await startBenchGateway();
  try {
    // The request rate limit lifted: this measures how fast the gateway takes messages.
    const key = await benchTenant(gw, 'Bench', { perMinute: 1e6, burst: 100_000 });
    const gateway = await httpIngest(gw, key);
    say('| what | messages/s | p50 ms | p99 ms | refused | ratio to direct writes |');
    say('|---|---:|---:|---:|---:|---:|');
    say(
      `| baseline: direct emulator writes (one 1 KB PutItem into the messages table's layout + one SQS SendMessage per message, 16 at a time) | ${fmt(direct)} | | | | 1.00 |`,
    );
    say(
      `| gateway, local runtime (authorizer, policy checks, sealed store, audit, enqueue; dispatch worker running) | ${fmt(gateway.rps)} | ${gateway.p50} | ${gateway.p99} | ${gateway.non2xx} | ${fmt(gateway.rps / direct, 3)} |`,
    );
    say();
    aim({
      aim: 'Local HTTP ingest: at least 80% of direct emulator writes',
      value: `${fmt(gateway.rps)} msg/s`,
      baseline: `${fmt(direct)} msg/s (PutItem + SendMessage straight to the emulators)`,
      ratio: fmt(gateway.rps / direct, 3),
      met: gateway.rps / direct >= 0.8 && gateway.non2xx === 0,
    });
  } finally {
    gw.child.kill('SIGTERM');
  }
}

async function neighbours() {
  say("## 6. Noisy neighbour: tenant A sends 100 times tenant B's rate");
  say();
  const gw = await startBenchGateway();
  try {
    const r = await noisyNeighbour(gw);
    say(
      `B sends ${r.bRate} messages/s for 30 s alone, then again while A sends ${fmt(r.bRate * 100)}/s (A's limit: B's rate, burst 10). Open-loop clients; latency is the HTTP round trip of POST /v1/messages.`,
    );
    say();
    say('| | p50 ms | p95 ms | B refused | ratio of p95 to B alone |');
    say('|---|---:|---:|---:|---:|');
    say(
      `| baseline: B alone | ${fmt(r.alone.p50, 1)} | ${fmt(r.alone.p95, 1)} | ${r.alone.refused} | 1.00 |`,
    );
    say(
      `| B beside A | ${fmt(r.beside.p50, 1)} | ${fmt(r.beside.p95, 1)} | ${r.beside.refused} | ${fmt(r.beside.p95 / r.alone.p95, 2)} |`,
    );
    say();
    say(
      `A: ${fmt(r.aSent)} requests (${fmt(r.aRate)}/s): ${fmt(r.a2xx)} accepted, ${fmt(r.a4xx)} refused with 4xx (429), ${fmt(r.a5xx)} 5xx.`,
    );
    say();
    aim({
      aim: "Noisy neighbour: B's p95 at most 1.2 times its baseline while A sends 100x; A gets 429",
      value: `${fmt(r.beside.p95, 1)} ms; A ${fmt(r.a4xx)} of ${fmt(r.aSent)} refused`,
      baseline: `${fmt(r.alone.p95, 1)} ms (B alone)`,
      ratio: fmt(r.beside.p95 / r.alone.p95, 2),
      met: r.beside.p95 / r.alone.p95 <= 1.2 && r.a4xx > 0 && r.a5xx === 0 && r.beside.refused === 0,
    });
  } finally {
    gw.child.kill('SIGTERM');
  }
}

async function capacity() {
  say('## 5. AWS requests and cost per message (local runtime, counted by proxies in front of the services)');
  const { single, batch, tenants } = await capacityBench();
  const row = (label: string, f: (r: CapacityRun) => string) =>
    say(`| ${label} | ${f(single)} | ${f(batch)} |`);
  say('| per message | one per request | through the batch endpoint |');
  say('|---|---:|---:|');
  row('messages measured', (r) => fmt(r.messages));
  row('DynamoDB write units (aims: at most 4 and 2.5)', (r) => fmt(r.writeUnits / r.messages, 2));
  row('DynamoDB read units', (r) => fmt(r.readUnits / r.messages, 2));
  row("(not counted above: the sandbox carrier's ledger, a local stand-in for the carrier)", (r) =>
    fmt(r.carrierStandInUnits / r.messages, 2),
  );
  row('KMS calls', (r) => fmt(r.kmsCalls / r.messages, 4));
  row('SQS requests (without empty polls)', (r) => fmt(r.sqsRequests / r.messages, 2));
  row('worker invocations', (r) => fmt(r.workerInvocations / r.messages, 2));
  row('bytes logged', (r) => fmt(r.logBytes / r.messages));
  const singleCost = costPerMillion(single);
  const batchCost = costPerMillion(batch);
  for (const service of Object.keys(singleCost.parts) as (keyof typeof singleCost.parts)[]) {
    say(
      `| cost per million: ${service} (USD) | ${fmt(singleCost.parts[service], 2)} | ${fmt(batchCost.parts[service], 2)} |`,
    );
  }
  say(
    `| **cost per million, total (aims: 3.00 and 1.50 USD)** | **${fmt(singleCost.total, 2)}** | **${fmt(batchCost.total, 2)}** |`,
  );
  say(`| ratio to the aim | ${fmt(singleCost.total / 3, 2)} | ${fmt(batchCost.total / 1.5, 2)} |`);
  say();
  say('Write units by operation, table and item kind (per message, one per request):');
  say();
  for (const [what, units] of [...single.writesBy.entries()].sort((a, b) => b[1] - a[1])) {
    say(`- ${what}: ${fmt(units / single.messages, 2)}`);
  }
  say();
  // One tenant's traffic (both runs are one tenant's): what its hottest partition and item take.
  say(
    "Base-table write units per message by partition key (one tenant's traffic; ids blanked; a request's units shared evenly among the items it wrote):",
  );
  say();
  say('| partition key | one per request | batch endpoint |');
  say('|---|---:|---:|');
  const byShape = (r: CapacityRun) => {
    const out = new Map<string, number>();
    for (const [key, units] of r.writesByKey)
      out.set(keyShape(key), Math.max(out.get(keyShape(key)) ?? 0, units));
    return out;
  };
  const [singleKeys, batchKeys] = [byShape(single), byShape(batch)];
  for (const shape of [...new Set([...singleKeys.keys(), ...batchKeys.keys()])].sort(
    (a, b) => (singleKeys.get(b) ?? 0) - (singleKeys.get(a) ?? 0),
  )) {
    say(
      `| \`${shape}\` | ${fmt((singleKeys.get(shape) ?? 0) / single.messages, 3)} | ${fmt((batchKeys.get(shape) ?? 0) / batch.messages, 3)} |`,
    );
  }
  say();
  say('(A shape stands for many keys where an id varies: the figure is its hottest one.)');
  say();
  say(ASSUMPTIONS);
  say();
  for (const [label, r] of [
    ['one per request', single],
    ['batch endpoint', batch],
  ] as const) {
    const hottestKey = Math.max(...r.writesByKey.values()) / r.messages;
    const hottestItem = Math.max(...r.writesByItem.values()) / r.messages;
    const key = [...r.writesByKey.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    aim({
      aim: `Per-tenant ceiling: no partition key value or item takes more than 0.2 write units per message of one tenant's traffic, ${label}`,
      value: `${fmt(hottestKey, 2)} (\`${keyShape(key)}\`); hottest item ${fmt(hottestItem, 2)}`,
      baseline: '0.2 (the aim: 5,000 messages/s under 1,000 write units/s per partition)',
      ratio: fmt(hottestKey / 0.2, 2),
      met: hottestKey <= 0.2,
    });
  }
  for (const [label, r, target] of [
    ['one per request', single, 4],
    ['batch endpoint', batch, 2.5],
  ] as const) {
    aim({
      aim: `DynamoDB write units from acceptance to delivery (usage counters, idempotency, audit included), ${label}: at most ${target}`,
      value: fmt(r.writeUnits / r.messages, 2),
      baseline: '1 (one write of a 1 KB item)',
      ratio: fmt(r.writeUnits / r.messages, 2),
      met: r.writeUnits / r.messages <= target,
    });
  }
  for (const [label, cost, target] of [
    ['one per request', singleCost, 3],
    ['batch endpoint', batchCost, 1.5],
  ] as const) {
    aim({
      aim: `Cost per million messages, ${label}: at most ${fmt(target, 2)} USD`,
      value: `${fmt(cost.total, 2)} USD`,
      baseline: `${fmt(target, 2)} USD (the aim)`,
      ratio: fmt(cost.total / target, 2),
      met: cost.total <= target,
    });
  }

  say(`### KMS calls across ${TENANTS} tenants`);
  say();
  const perTenant = tenants.kmsCalls / TENANTS;
  const rate = tenants.messages / tenants.seconds;
  const windows = Math.ceil(1e6 / rate / CACHE_WINDOW_SECONDS);
  const projected = tenants.kmsCalls * windows;
  say(
    `${fmt(tenants.messages)} messages, ${fmt(tenants.messages / TENANTS)} per tenant through the batch endpoint, fresh tenants (no cached key anywhere): **${fmt(tenants.kmsCalls)} KMS calls**, ${fmt(perTenant, 1)} per tenant, taken in ${fmt(tenants.seconds, 1)} s (${fmt(rate)} messages/s end to end).`,
  );
  say();
  say(
    `A data key or unwrapped secret is used for ${CACHE_WINDOW_SECONDS} s, so each function instance asks KMS again about once per tenant and window. One million messages over ${TENANTS} tenants at this run's rate take ${fmt(1e6 / rate / 60)} minutes, ${windows} windows: about **${fmt(projected)} KMS calls** with one instance of each function, as here. In Lambda every concurrent instance of a function that seals or opens a tenant's data keeps its own cache, so the figure grows with concurrency.`,
  );
  say();
  aim({
    aim: `KMS calls per million messages across ${TENANTS} tenants: at most 1,000`,
    value: fmt(projected),
    baseline: `${fmt(tenants.kmsCalls)} calls measured for ${fmt(tenants.messages)} messages in one cache window, x ${windows} windows`,
    ratio: fmt(projected / 1000, 2),
    met: projected <= 1000,
  });
}

async function roundTrips() {
  say('## 6. Sequential AWS round trips of `POST /v1/messages` (local runtime, timed in each instance)');
  say();
  const { first, warm, warmRuns } = await roundTripsBench();
  say(
    'Every HTTP call the authorizer and the send function made while the request was open, timed from request to answer inside the instance; "sequential" is the longest chain of calls each started after the one before was answered (calls in parallel count once). The authorizer\'s answer is cached per key, as API Gateway caches it.',
  );
  say();
  say('| request | AWS calls | sequential round trips |');
  say('|---|---:|---:|');
  say(`| a tenant's first (instances warm) | ${first.calls.length} | ${first.sequential} |`);
  say(`| warm (median of ${warmRuns.length}) | ${warm.calls.length} | ${warm.sequential} |`);
  say();
  say(`Warm runs (calls / sequential): ${warmRuns.map((r) => `${r.calls}/${r.sequential}`).join(', ')}.`);
  say();
  say(
    `The warm request's calls in the order they started (\`‖\` = in parallel with the one before): ${callSequence(warm.calls)}.`,
  );
  say();
  say(`The first request's: ${callSequence(first.calls)}.`);
  say();
  aim({
    aim: 'A warm `POST /v1/messages` waits on at most 3 sequential AWS round trips',
    value: `${warm.sequential} (${warm.calls.length} calls)`,
    baseline: '3 (the aim)',
    ratio: fmt(warm.sequential / 3, 2),
    met: warm.sequential <= 3,
  });
}

const LOAD_REPORT = 'bench/load-results.md';

async function main() {
  const only = process.argv.slice(2);
  const wants = (...names: string[]) => only.length === 0 || names.some((n) => only.includes(n));
  const started = new Date().toISOString();
  if (wants('ingest')) await inProcessIngest();
  if (wants('encryption')) await encryption();
  // Before any other section starts a gateway in this process: the function modules it imports
  // keep the first gateway's configuration.
  if (wants('capacity')) await capacity();
  if (wants('trips')) await roundTrips();
  let built: Record<string, string> | undefined;
  if (wants('bundles', 'cold')) built = await bundles();
  if (built && wants('cold')) await coldStarts(built);
  if (wants('http')) await httpThroughput();
  if (wants('neighbours')) await neighbours();
  if (wants('kannel')) await kannelSection(say, aim);
  const sections = lines.splice(0);
  say('# Benchmark results');
  say();
  say(
    `Written by \`npm run bench\`${only.length ? ` (sections: ${only.join(', ')})` : ''}, started ${started}. Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30)} GiB; Node ${process.version}. Every figure is compared with a baseline measured in the same run.`,
  );
  say();
  say('| aim | value | baseline | ratio | met |');
  say('|---|---|---|---:|---|');
  for (const a of aims)
    say(`| ${a.aim} | ${a.value} | ${a.baseline} | ${a.ratio} | ${a.met ? 'yes' : '**no**'} |`);
  say(
    `| Sustained load: 100,000 messages, each final once, memory flat | see \`npm run load\` (${LOAD_REPORT}) | | | |`,
  );
  say();
  lines.push(...sections);
  const file = join(import.meta.dirname, 'results.md');
  writeFileSync(file, `${lines.join('\n')}\n`);
  say(`(written to ${join('bench', 'results.md')})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
