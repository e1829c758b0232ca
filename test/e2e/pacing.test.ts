import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayOptions, RunningGateway } from '../../infra/local/gateway.ts';
import { batchGet } from '../../layers/adapters/dynamodb-util.ts';
import { localClients } from '../support/aws.ts';
import { client, onboard, waitFor } from '../support/http.ts';
import { startTestGateway } from '../support/local-gateway.ts';

/**
 * Pacing through the local runtime (the synthesized templates, two dispatch instances): a
 * scaled-down load at a configured rate, and a carrier that throttles. The larger run (1,000
 * messages at 50/s, fake clock) is in test/core/pacing.test.ts.
 */
const RATE = 8;
const { dynamodb } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;

const start = (dispatch: NonNullable<GatewayOptions['dispatch']>) => async () => {
  gateway = await startTestGateway('pacing', { dispatch });
  api = client(gateway.url);
};
const stop = async () => {
  await gateway?.stop();
};

/** Each message's sandbox ledger entry: when the carrier first took it and how often it was handed it. */
async function ledger(ids: string[]) {
  const items = await batchGet(
    dynamodb,
    gateway.tables.sandboxLedger,
    ids.map((id) => marshall({ pk: `SANDBOX#${id}`, sk: 'SEND' })),
  );
  return items.map((i) => unmarshall(i) as { pk: string; sends: number; acceptedAt: string });
}

/** The carrier's own count of an identity's sends in each calendar second. */
async function perSecond(from: string) {
  const out = await dynamodb.send(
    new QueryCommand({
      TableName: gateway.tables.sandboxLedger,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': `SANDBOX_RATE#${from}` }),
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((i) => Number(unmarshall(i).sends));
}

async function sendMany(key: string, from: string, count: number, prefix: string) {
  const res = await api.call<{ accepted: number; results: { message: { id: string } }[] }>(
    'POST',
    '/v1/messages/batch',
    {
      key,
      body: {
        messages: Array.from({ length: count }, (_, i) => ({
          to: `+1202${prefix}${String(i).padStart(4, '0')}`,
          from,
          body: `paced ${i}`,
        })),
      },
    },
  );
  expect(res.body.accepted).toBe(count);
  return res.body.results.map((r) => r.message.id);
}

async function drained(ids: string[], timeoutMs: number) {
  return waitFor(
    async () => {
      const entries = await ledger(ids);
      return entries.length === ids.length ? entries : undefined;
    },
    `all ${ids.length} messages at the carrier`,
    timeoutMs,
  );
}

describe('a scaled-down load at a configured rate', () => {
  // Two dispatch instances share the rate; the carrier allows more (25 a second), so what it
  // counts shows the pacing, not its own limit.
  beforeAll(start({ concurrency: 2, sendRates: { account: RATE }, sandboxMps: 25 }), 180_000);
  afterAll(stop);

  it(`drains 48 messages at ${RATE}/s in about 6 s, never above ${RATE} in a second, each sent once`, async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Paced', senders: ['Paced'] });
    const ids = await sendMany(t.key, 'Paced', 48, '411');
    const entries = await drained(ids, 60_000);
    // A duplicate hand-over would show as a second send, a while after the first.
    await new Promise((r) => setTimeout(r, 1500));
    const settled = await ledger(ids);
    expect(settled.map((e) => e.sends)).toEqual(ids.map(() => 1));
    const at = entries.map((e) => Date.parse(e.acceptedAt)).sort((a, b) => a - b);
    const spanMs = at.at(-1)! - at[0]!;
    // 48 at 8/s: 47 intervals of 125 ms = 5.9 s; at most 8 in any second makes it over 5 s
    // (unpaced, the two workers here hand over about 20 a second). Up to 10 s on a loaded machine.
    expect(spanMs).toBeGreaterThanOrEqual(5000);
    expect(spanMs).toBeLessThanOrEqual(10_000);
    const counts = await perSecond('Paced');
    expect(counts.reduce((a, b) => a + b, 0)).toBe(48);
    expect(Math.max(...counts)).toBeLessThanOrEqual(RATE);
  }, 120_000);
});

describe('a carrier that throttles', () => {
  // No rates: the workers send as fast as they can into the carrier's 3 a second. Two receives
  // only: a throttle that used one up would soon fail a message.
  beforeAll(
    start({ concurrency: 2, sandboxMps: 3, maxReceiveCount: 2, visibilityTimeoutSeconds: 3 }),
    180_000,
  );
  afterAll(stop);

  it('delays what the carrier throttles without using up its receives: every message goes once, none fails', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Blast', senders: ['Blast'] });
    const ids = await sendMany(t.key, 'Blast', 15, '412');
    await drained(ids, 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await ledger(ids)).map((e) => e.sends)).toEqual(ids.map(() => 1));
    const counts = await perSecond('Blast');
    // The carrier did throttle: 15 unpaced messages do not fit in its 3 a second.
    expect(counts.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
    const statuses = await Promise.all(
      ids.map(
        async (id) =>
          (await api.call<{ status: string }>('GET', `/v1/messages/${id}`, { key: t.key })).body.status,
      ),
    );
    expect(statuses.filter((s) => s === 'failed')).toEqual([]);
  }, 120_000);
});
