// Sustained load: pushes N messages (default 100,000) through the local runtime from several
// tenants with the batch endpoint, then waits until every accepted message is final, and checks
// that none was handed to the carrier twice and that memory stayed flat. Writes bench/load-results.md.
//
//   npm run load                      # 100,000 messages, 5 tenants
//   npm run load -- --messages 5000   # a quick run
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startGateway } from '../infra/local/gateway.ts';
import { present } from '../layers/present.ts';
import { countUnfinished, localClientsFor, testTenant } from './local-clients.ts';
import { fmt, median, report } from './report.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    tenants: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '2' },
  },
});
const TOTAL = Number(values.messages);
const TENANTS = Number(values.tenants);
const BATCH = 1_000;
const { lines, say } = report();
const mb = (bytes: number) => bytes / 1024 / 1024;

const gateway = await startGateway({
  port: 0,
  euPort: 0,
  services: { kind: 'embedded', dynamodbPort: 0, sqsPort: 0, kmsPort: 0 },
  log: () => undefined,
});
const { dynamodb } = localClientsFor(gateway.services.dynamodb, gateway.regions.global);
const sqs = new SQSClient({
  region: gateway.regions.global,
  endpoint: gateway.services.sqs,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

const admin = async (path: string, body: unknown, method = 'POST') => {
  const res = await fetch(gateway.url + path, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, string>;
};

const tenants: { id: string; key: string }[] = [];
for (let t = 0; t < TENANTS; t++) {
  const { id, key } = await testTenant(admin, `Load ${t}`, `load${t}@example.test`, 'load');
  // Thousands of messages an hour to the same numbers: lift the flood limits (the rate limit
  // counts requests, and a batch is one).
  await admin(
    `/admin/tenants/${id}/controls`,
    { flood: { identicalPerHour: 10_000, perHour: 100_000 } },
    'PUT',
  );
  tenants.push({ id, key });
}

// Memory of this process (the whole local runtime: HTTP, functions, workers), every 2 s.
const samples: { t: number; rss: number; heap: number }[] = [];
const started = Date.now();
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  samples.push({ t: Date.now() - started, rss: m.rss, heap: m.heapUsed });
}, 2_000);

let sent = 0;
let accepted = 0;
let refused = 0;
let retried = 0;
const reasons = new Map<string, number>();
const batches = Math.ceil(TOTAL / BATCH);
let next = 0;
async function sender() {
  for (;;) {
    const b = next++;
    if (b >= batches) return;
    const tenant = present(tenants[b % tenants.length], `the tenant of batch ${b}`);
    const size = Math.min(BATCH, TOTAL - b * BATCH);
    let messages = Array.from({ length: size }, (_, i) => ({
      // Valid US numbers, none of the sandbox's special ones: each is delivered at once.
      to: `+1646${String(2_000_000 + ((b * BATCH + i) % 5_000)).padStart(7, '0')}`,
      from: 'Load',
      body: `Load test message ${b}-${i}`,
    }));
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${gateway.url}/v1/messages/batch`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tenant.key}`,
          'content-type': 'application/json',
          'idempotency-key': `load-${b}-${attempt}`,
        },
        body: JSON.stringify({ messages }),
      });
      if (res.status === 200) {
        const out = (await res.json()) as {
          accepted: number;
          results: { index: number; status: string; problem?: { type?: string } }[];
        };
        accepted += out.accepted;
        const rejected = out.results.filter((r) => r.status === 'rejected');
        const slug = (r: (typeof rejected)[number]) => r.problem?.type?.split('/').pop() ?? 'unknown';
        for (const r of rejected) reasons.set(slug(r), (reasons.get(slug(r)) ?? 0) + 1);
        // Items the gateway could not queue (503 per item) are the client's to send again.
        const again = rejected
          .filter((r) => slug(r) === 'service-unavailable')
          .map((r) => present(messages[r.index], `the message of batch item ${r.index}`));
        refused += rejected.length - again.length;
        if (again.length === 0) break;
        retried += again.length;
        messages = again;
        continue;
      }
      // 429/503: retry the same batch (same Idempotency-Key) after Retry-After.
      if (attempt > 30) throw new Error(`batch ${b} kept failing: ${res.status}`);
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
    }
    sent += size;
  }
}
await Promise.all(Array.from({ length: Number(values.concurrency) }, () => sender()));
const acceptedAt = Date.now();

/** Messages not final yet (queued or sent), over every tenant and both jurisdictions. */
async function unfinished(): Promise<number> {
  let n = 0;
  for (const j of ['global', 'eu'] as const) {
    const { dynamodb: client } = localClientsFor(gateway.services.dynamodb, gateway.regions[j]);
    for (const t of tenants)
      n += await countUnfinished(client, gateway.tables.messagesByJurisdiction[j], t.id);
  }
  return n;
}
/** Records still on the dispatch and carrier events queues (visible or in flight): a cheap probe. */
async function onQueues(): Promise<number> {
  let n = 0;
  for (const j of ['global', 'eu'] as const) {
    const q = gateway.queues.byJurisdiction[j];
    for (const url of [q.dispatch, q.carrierEvents]) {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      n +=
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
  }
  return n;
}
// Counting messages by status reads the whole index, which slows DynamoDB Local down: wait for
// the queues to empty first, then confirm with the exact count.
let left = 1;
while (left > 0) {
  await new Promise((r) => setTimeout(r, 5_000));
  const queued = await onQueues();
  process.stderr.write(`  ${queued} records on the queues\n`);
  if (queued === 0) left = await unfinished();
}
const drainedAt = Date.now();
clearInterval(sampler);

// What the sandbox carrier was handed: one record per message, with how many times.
let handed = 0;
let twice = 0;
let startKey: Record<string, unknown> | undefined;
do {
  const out = await dynamodb.send(
    new ScanCommand({ TableName: gateway.tables.sandboxLedger, ExclusiveStartKey: startKey as never }),
  );
  for (const item of out.Items ?? []) {
    if (item.sk?.S !== 'SEND') continue;
    handed++;
    if (Number(item.sends?.N) > 1) twice++;
  }
  startKey = out.LastEvaluatedKey;
} while (startKey);

await gateway.stop();

const quarter = Math.max(1, Math.floor(samples.length / 4));
const firstHeap = median(samples.slice(0, quarter).map((s) => s.heap));
const lastHeap = median(samples.slice(-quarter).map((s) => s.heap));
const firstRss = median(samples.slice(0, quarter).map((s) => s.rss));
const lastRss = median(samples.slice(-quarter).map((s) => s.rss));
const acceptSeconds = (acceptedAt - started) / 1000;
const drainSeconds = (drainedAt - acceptedAt) / 1000;

say('# Sustained load');
say();
say(
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}; ${new Date().toISOString()}`,
);
say(`Command: npm run load -- --messages ${TOTAL} --tenants ${TENANTS} --concurrency ${values.concurrency}`);
say();
say('| figure | value |');
say('|---|---:|');
say(`| messages sent (batches of ${BATCH}, ${TENANTS} tenants, test keys, sandbox carrier) | ${fmt(sent)} |`);
say(`| accepted / refused for good | ${fmt(accepted)} / ${fmt(refused)} |`);
say(`| items answered 'unavailable' in a batch and sent again by the client | ${fmt(retried)} |`);
say(`| rejections by reason | ${[...reasons].map(([r, n]) => `${r}: ${fmt(n)}`).join(', ') || 'none'} |`);
say(
  `| acceptance: seconds / messages per second | ${fmt(acceptSeconds, 1)} / ${fmt(accepted / acceptSeconds)} |`,
);
say(`| drain after the last acceptance (every message final): seconds | ${fmt(drainSeconds, 1)} |`);
say(`| end to end: messages per second | ${fmt(accepted / ((drainedAt - started) / 1000))} |`);
say(`| handed to the carrier / of them more than once | ${fmt(handed)} / ${fmt(twice)} |`);
say(
  `| heap used, median of first and last quarter of the run (MB) | ${fmt(mb(firstHeap))} -> ${fmt(mb(lastHeap))} (${fmt(lastHeap / firstHeap, 2)}x) |`,
);
say(`| RSS, the same (MB) | ${fmt(mb(firstRss))} -> ${fmt(mb(lastRss))} (${fmt(lastRss / firstRss, 2)}x) |`);
say(`| samples (every 2 s) | ${samples.length} |`);
writeFileSync(join(import.meta.dirname, 'load-results.md'), `${lines.join('\n')}\n`);
const ok = accepted === TOTAL && handed === accepted && twice === 0;
say();
say(
  ok
    ? 'Every accepted message reached a final state and none was handed over twice.'
    : 'FAILED: see the figures above.',
);
process.exit(ok ? 0 : 1);
