import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../infra/local/gateway.ts';
import { deadLetter, localClients, uniqueName } from '../support/aws.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { client, expectProblem, onboard, waitFor } from '../support/http.ts';

const { services, dynamodb, sqs } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let ddbProxy: Awaited<ReturnType<typeof startFaultProxy>>;
let kmsProxy: Awaited<ReturnType<typeof startFaultProxy>>;

const WRITES = new Set(['PutItem', 'UpdateItem', 'TransactWriteItems', 'BatchWriteItem', 'DeleteItem']);
/** Faults on the gateway's own tables only: the sandbox carrier's ledger (its "handsets") stays honest. */
const gatewayTable = (body: string) => !body.includes('SandboxLedger');

beforeAll(async () => {
  ddbProxy = await startFaultProxy('dynamodb', services.dynamodb);
  kmsProxy = await startFaultProxy('kms', services.kms);
  gateway = await startGateway({
    port: 0,
    services: { kind: 'external', dynamodb: ddbProxy.url, sqs: services.sqs, kms: kmsProxy.url },
    prefix: uniqueName('faults'),
    authorizerCacheSeconds: 0,
    settingsCacheSeconds: 0,
    // Records a worker failed on come back in seconds, not minutes (the workers' timeouts come
    // down to it, as Lambda requires), after three receives at most.
    // A carrier that does not answer in a second is given up on.
    dispatch: { visibilityTimeoutSeconds: 10, maxReceiveCount: 3, carrierTimeoutSeconds: 1 },
  });
  api = client(gateway.url);
});

afterAll(async () => {
  await gateway?.stop();
  await ddbProxy?.close();
  await kmsProxy?.close();
});

type Sent = { message: { id: string; createdAt: string } };
const send = (key: string, to: string, idempotencyKey: string) =>
  api.call<Sent>('POST', '/v1/messages', {
    key,
    body: { to, from: 'Faulty', body: `Order ${idempotencyKey} is ready` },
    headers: { 'idempotency-key': idempotencyKey },
  });

/** How many times the sandbox carrier was handed a message. */
async function carrierSends(messageId: string) {
  const out = await dynamodb.send(
    new GetItemCommand({
      TableName: gateway.tables.sandboxLedger,
      Key: marshall({ pk: `SANDBOX#${messageId}`, sk: 'SEND' }),
      ConsistentRead: true,
    }),
  );
  return out.Item ? Number(unmarshall(out.Item).sends) : 0;
}

/** A tenant's flood counters of this hour, as stored (one per recipient). */
async function floodTotals(tenantId: string) {
  const out = await dynamodb.send(
    new QueryCommand({
      TableName: gateway.tables.messagesByJurisdiction.global,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :flood)',
      ExpressionAttributeValues: marshall({ ':pk': tenantId, ':flood': 'FLOOD#' }),
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((i) => Number(unmarshall(i).total));
}

/** The segments a tenant has used this month, as the monthly cap counts them. */
async function monthSegments(tenantId: string) {
  const out = await dynamodb.send(
    new GetItemCommand({
      TableName: gateway.tables.tenants,
      Key: marshall({ pk: tenantId, sk: `USAGE#${new Date().toISOString().slice(0, 7)}` }),
      ConsistentRead: true,
    }),
  );
  return out.Item ? Number(unmarshall(out.Item).segments) : 0;
}

const statusOf = async (key: string, id: string) =>
  (await api.call<{ status: string }>('GET', `/v1/messages/${id}`, { key })).body.status;

describe('fault injection', () => {
  it('answers 503 with Retry-After while DynamoDB throttles every write, never a 500, and takes the retry once it recovers', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Faulty', senders: ['Faulty'] });
    ddbProxy.set((op, body) => (WRITES.has(op) && gatewayTable(body) ? 'throttle' : undefined));
    const refused = await send(t.key, '+12025550170', 'k-1');
    ddbProxy.clear();
    expectProblem(refused, 503, 'service-unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.stringify(refused.body)).not.toMatch(/Exception|dynamodb|stack|at \//i);

    const accepted = await send(t.key, '+12025550170', 'k-1');
    expect(accepted.status).toBe(202);
    const id = accepted.body.message.id;
    await waitFor(async () => ((await statusOf(t.key, id)) === 'delivered' ? true : undefined), 'delivery');
    expect(await carrierSends(id)).toBe(1);
  });

  it('answers a key the authorizer has not cached with 503 problem+json and Retry-After while DynamoDB is down, then serves it', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Uncached', senders: [] });
    ddbProxy.set((_op, body) => (gatewayTable(body) ? 'unavailable' : undefined));
    const refused = await api.call('GET', '/v1/messages', { key: t.key }).finally(() => ddbProxy.clear());
    expectProblem(refused, 503, 'service-unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.stringify(refused.body)).not.toMatch(/Exception|dynamodb|stack|at \//i);
    expect((await api.call('GET', '/v1/messages', { key: t.key })).status).toBe(200);
  });

  it('replays the stored message when the write completing its Idempotency-Key failed: one message, one send', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Faulty', senders: ['Faulty'] });
    // Only the write that completes the key fails: the message is stored and queued by then.
    ddbProxy.set((op, body) =>
      op === 'UpdateItem' && body.includes('IDEM#') && body.includes('"completed"')
        ? 'unavailable'
        : undefined,
    );
    const refused = await send(t.key, '+12025550172', 'k-complete');
    ddbProxy.clear();
    expectProblem(refused, 503, 'service-unavailable');

    const retried = await send(t.key, '+12025550172', 'k-complete');
    expect(retried.status).toBe(202);
    const id = retried.body.message.id;
    const list = await api.call<{ data: { id: string }[] }>('GET', '/v1/messages?limit=100', { key: t.key });
    expect(list.body.data.map((m) => m.id)).toEqual([id]);
    await waitFor(async () => ((await statusOf(t.key, id)) === 'delivered' ? true : undefined), 'delivery');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await carrierSends(id)).toBe(1);
    const replay = await send(t.key, '+12025550172', 'k-complete');
    expect(replay.body.message.id).toBe(id);
    // Answered as the first answer would have been: the stored message's acceptance time.
    const stored = await api.call<{ createdAt: string }>('GET', `/v1/messages/${id}`, { key: t.key });
    expect(retried.body.message.createdAt).toBe(stored.body.createdAt);
    expect(replay.body).toEqual(retried.body);
    // Counted once: the recipient's flood counter and the month's segments (toward the cap).
    expect(await floodTotals(t.tenantId)).toEqual([1]);
    expect(await monthSegments(t.tenantId)).toBe(1);
  });

  it('answers 503 with Retry-After while KMS throttles, then accepts', async () => {
    // A new tenant: no data key is cached yet, so sealing its first message needs KMS.
    const t = await onboard(api, gateway.adminToken, { name: 'Keyless', senders: [], mode: 'test' });
    kmsProxy.set((op) => (op === 'GenerateDataKey' || op === 'Decrypt' ? 'throttle' : undefined));
    const refused = await send(t.key, '+12025550171', 'k-2');
    kmsProxy.clear();
    expectProblem(refused, 503, 'service-unavailable');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await send(t.key, '+12025550171', 'k-2')).status).toBe(202);
  });

  it('delivers every accepted message once while DynamoDB throttles a quarter of all calls and fails some outright', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Faulty', senders: ['Faulty'] });
    let n = 0;
    ddbProxy.set((_op, body) => {
      if (!gatewayTable(body)) return undefined;
      n++;
      return n % 4 === 0 ? 'throttle' : n % 17 === 0 ? 'unavailable' : undefined;
    });
    const ids: string[] = [];
    const answers: number[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        // A client retries 503 and 429 with the same Idempotency-Key, after Retry-After.
        for (let attempt = 0; ; attempt++) {
          const res = await send(t.key, `+1202555${String(180 + i).padStart(4, '0')}`, `bulk-${i}`);
          answers.push(res.status);
          if (res.status === 202) {
            ids.push(res.body.message.id);
            break;
          }
          expect([429, 503]).toContain(res.status);
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
          if (attempt > 20) throw new Error('never accepted');
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await waitFor(
        async () => {
          const statuses = await Promise.all(ids.map((id) => statusOf(t.key, id).catch(() => 'unknown')));
          return statuses.every((s) => s === 'delivered') ? true : undefined;
        },
        'every message delivered',
        90_000,
      );
    } finally {
      ddbProxy.clear();
    }
    expect(answers).not.toContain(500);
    expect(new Set(ids).size).toBe(8);
    for (const id of ids) expect(await carrierSends(id)).toBe(1);
    expect(ddbProxy.counts.faulted).toBeGreaterThan(10);
  }, 180_000);

  it('never sends a message twice when the carrier took it but writing "sent" failed: the write is queued instead', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Faulty', senders: ['Faulty'] });
    // The worker's "sent" write fails through all of the SDK's attempts (DynamoDB's default in
    // this SDK: 4), once.
    const SDK_ATTEMPTS = 4;
    let refused = 0;
    ddbProxy.set((op, body) => {
      if (op !== 'UpdateItem' || !body.includes('carrierMessageId = :cid') || refused >= SDK_ATTEMPTS)
        return undefined;
      refused++;
      return 'throttle';
    });
    try {
      // +12025550103: delivered, its receipt ten seconds after the send.
      const res = await send(t.key, '+12025550103', 'sent-write-lost');
      expect(res.status).toBe(202);
      const id = res.body.message.id;
      const sent = await waitFor(
        async () => {
          const m = (
            await api.call<{ status: string; sentAt: string | null }>('GET', `/v1/messages/${id}`, {
              key: t.key,
            })
          ).body;
          return m.status === 'sent' ? m : undefined;
        },
        '"sent" written by the queued record, before the receipt',
        9_000,
      );
      expect(refused).toBe(SDK_ATTEMPTS);
      expect(sent.sentAt).not.toBeNull();
      await waitFor(
        async () => ((await statusOf(t.key, id)) === 'delivered' ? true : undefined),
        'delivered',
        30_000,
      );
      expect(await carrierSends(id)).toBe(1);
    } finally {
      ddbProxy.clear();
    }
  }, 60_000);

  it("runs each queue's workers within the queue's visibility timeout, as Lambda requires of an event source", () => {
    const timeouts = [...gateway.functions.values()]
      .filter((f) => /dispatch-messages|apply-carrier-events/.test(f.path))
      .map((f) => f.fn.spec.timeoutSeconds);
    // Both regions' dispatch and receipt workers: 30 s and 15 s in the templates, 10 s here.
    expect(timeouts).toEqual([10, 10, 10, 10]);
  });

  it('gives up on a carrier that does not answer: a message it took is delivered once, one it never took fails with carrier_timeout and is dead-lettered', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Faulty', senders: ['Faulty'] });
    // +12025550109: the carrier takes the message but never answers; +12025550108: it never answers.
    const taken = await send(t.key, '+12025550109', 'timeout-taken');
    const lost = await send(t.key, '+12025550108', 'timeout-lost');
    expect([taken.status, lost.status]).toEqual([202, 202]);
    const final = (id: string) =>
      waitFor(
        async () => {
          const m = (
            await api.call<{ status: string; error?: { code: string } }>('GET', `/v1/messages/${id}`, {
              key: t.key,
            })
          ).body;
          return ['delivered', 'failed'].includes(m.status) ? m : undefined;
        },
        'a final status',
        60_000,
      );
    const [delivered, failed] = await Promise.all([
      final(taken.body.message.id),
      final(lost.body.message.id),
    ]);
    expect(delivered.status).toBe('delivered');
    // The record came back after the visibility timeout, found the message delivered, sent nothing.
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await carrierSends(taken.body.message.id)).toBe(1);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'carrier_timeout' } });
    expect(await carrierSends(lost.body.message.id)).toBe(0);
    await deadLetter(sqs, gateway.queues.dispatchDlq, (body) => body.includes(lost.body.message.id));
  }, 120_000);
});
