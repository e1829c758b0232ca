import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../infra/local/gateway.ts';
import { localClients, uniqueName } from '../support/aws.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { type ApiResponse, client, expectProblem, onboard, waitFor } from '../support/http.ts';

/**
 * Forward residency and the rate limit: a forward tenant's send for an EU/EEA subject at the
 * global endpoint is relayed to the EU API as it came, and counted once against the tenant's rate
 * limit, by the EU region (the bucket is shared by the regions through the global tenants table).
 *
 * Whether the EU region sees what the global region wrote a moment before depends on the
 * replication lag; here it always does: the EU region's calls on the tenant's rate bucket are
 * held (by a proxy in front of DynamoDB Local) until the global region's bucket item has
 * replicated to it, the lag at its longest.
 */
const { services } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let proxy: Awaited<ReturnType<typeof startFaultProxy>>;
/** The tenant whose rate bucket calls in the EU region are held until replication caught up. */
let held: string | undefined;

const GERMAN = '+4915123456789';
const US = '+12025550100';

/** The arrival time of a tenant's rate bucket item that region `of` writes (global: `RATE`, the first), as region `in_` holds it. */
async function bucket(tenantId: string, of: 'global' | 'eu', in_: 'global' | 'eu') {
  const { dynamodb } = localClients(gateway.regions[in_]);
  const sk = of === 'global' ? 'RATE' : `RATE@${gateway.regions.eu}`;
  const out = await dynamodb.send(
    new GetItemCommand({
      TableName: gateway.tables.tenants,
      Key: marshall({ pk: `RATE#tenant#${tenantId}`, sk }),
      ConsistentRead: true,
    }),
  );
  return out.Item ? String(unmarshall(out.Item).tat) : 'none';
}

/** Until `to` holds the bucket item of the other region as that region last wrote it. */
const replicatedTo = (tenantId: string, to: 'global' | 'eu') => {
  const from = to === 'eu' ? 'global' : 'eu';
  return waitFor(async () => {
    const [own, replica] = [await bucket(tenantId, from, from), await bucket(tenantId, from, to)];
    return own === replica ? true : undefined;
  }, `the ${from} region's rate bucket replicated to the ${to} region`);
};

beforeAll(async () => {
  proxy = await startFaultProxy('dynamodb', services.dynamodb, {
    hold: (operation, body, region) =>
      held !== undefined &&
      region === gateway.regions.eu &&
      // The functions' reads and writes of the bucket (the replicator's own writes are PutItem).
      (operation === 'GetItem' || operation === 'UpdateItem') &&
      body.includes(`RATE#tenant#${held}`)
        ? replicatedTo(held, 'eu').then(() => undefined)
        : undefined,
  });
  gateway = await startGateway({
    port: 0,
    services: { kind: 'external', ...services, dynamodb: proxy.url },
    prefix: uniqueName('relayrate'),
    authorizerCacheSeconds: 1,
  });
  api = client(gateway.url);
});

afterAll(async () => {
  await gateway?.stop();
  await proxy?.close();
});

/** The EU's requests at the global endpoint that are relayed, and what each answers when taken. */
const RELAYED = {
  single: { taken: 202, call: (key: string, i: number) => sendOne(key, GERMAN, i) },
  batch: {
    taken: 200,
    call: (key: string, i: number) =>
      api.call('POST', '/v1/messages/batch', {
        key,
        body: { messages: [{ to: GERMAN, from: 'Acme', body: `Send ${i}` }] },
      }),
  },
  list: { taken: 200, call: (key: string) => api.call('GET', '/v1/messages?jurisdiction=eu', { key }) },
  'opt-out': {
    taken: 201,
    call: (key: string, i: number) =>
      api.call('POST', '/v1/opt-outs', { key, body: { phone: `+49151234567${i}0` } }),
  },
  inbound: { taken: 200, call: (key: string) => api.call('GET', '/v1/inbound?jurisdiction=eu', { key }) },
};
const sendOne = (key: string, to: string, i: number) =>
  api.call('POST', '/v1/messages', { key, body: { to, from: 'Acme', body: `Send ${i}` } });

describe('forward residency and the rate limit', () => {
  it.each(Object.keys(RELAYED) as (keyof typeof RELAYED)[])(
    "counts a forward tenant's %s requests relayed to the EU once, by the EU region, whose 429 reaches the caller with Retry-After",
    async (kind) => {
      const t = await onboard(api, gateway.adminToken, { name: 'Relayed', residency: 'forward' });
      const put = await api.call('PUT', `/admin/tenants/${t.tenantId}/controls`, {
        token: gateway.adminToken,
        body: { rateLimit: { perMinute: 1, burst: 4 } },
      });
      expect(put.status).toBe(200);
      // The EU region reads the controls from its replica of the tenants table.
      const { dynamodb } = localClients(gateway.regions.eu);
      await waitFor(async () => {
        const out = await dynamodb.send(
          new GetItemCommand({
            TableName: gateway.tables.tenants,
            Key: marshall({ pk: t.tenantId, sk: 'PROFILE' }),
            ConsistentRead: true,
          }),
        );
        return out.Item && unmarshall(out.Item).controls?.rateLimit?.burst === 4 ? true : undefined;
      }, 'the controls replicated to the EU region');
      held = t.tenantId;
      // The EU's, a US send (taken here), then the EU's again: one bucket of four for all of them.
      const answers: ApiResponse[] = [];
      for (const i of [0, 1, 2, 3, 4]) {
        // The second is a send to a US number, taken here.
        answers.push(await (i === 1 ? sendOne(t.key, US, i) : RELAYED[kind].call(t.key, i)));
        // Each region has seen what the other admitted before the next request.
        await replicatedTo(t.tenantId, 'eu');
        await replicatedTo(t.tenantId, 'global');
      }
      held = undefined;
      // A burst of four: four requests are taken, the fifth is refused (by the EU region, relayed).
      const { taken } = RELAYED[kind];
      expect(answers.map((a) => a.status)).toEqual([taken, 202, taken, taken, 429]);
      const fifth = answers[4] as ApiResponse;
      expectProblem(fifth, 429, 'rate-limited');
      expect(Number(fifth.headers.get('retry-after'))).toBeGreaterThan(0);
    },
    90_000,
  );
});
