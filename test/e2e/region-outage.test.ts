import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../infra/local/gateway.ts';
import { localClients, uniqueName } from '../support/aws.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { client, expectProblem, onboard, waitFor } from '../support/http.ts';

/**
 * Issue 14: each region serves on its own. Every DynamoDB, SQS and KMS call signed for the global
 * region (us-east-1) is refused, as in a regional outage; the EU region still takes, sends and
 * reports its messages and reads its tenants' settings.
 */
const { services } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let euApi: ReturnType<typeof client>;
let proxies: Awaited<ReturnType<typeof startFaultProxy>>[];

const GERMAN = '+4915123456780';

beforeAll(async () => {
  proxies = await Promise.all([
    startFaultProxy('dynamodb', services.dynamodb),
    startFaultProxy('sqs', services.sqs),
    startFaultProxy('kms', services.kms),
  ]);
  const [dynamodb, sqs, kms] = proxies.map((p) => p.url) as [string, string, string];
  gateway = await startGateway({
    port: 0,
    services: { kind: 'external', dynamodb, sqs, kms },
    prefix: uniqueName('outage'),
    // Nothing is served from a cache: every request reads what its region holds.
    authorizerCacheSeconds: 0,
    settingsCacheSeconds: 0,
  });
  api = client(gateway.url);
  euApi = client(gateway.euUrl);
});

afterAll(async () => {
  for (const p of proxies ?? []) p.clear();
  await gateway?.stop();
  for (const p of proxies ?? []) await p.close();
});

type Sent = { message: { id: string; jurisdiction: string } };
const sendGerman = (key: string, idempotencyKey: string) =>
  euApi.call<Sent>('POST', '/v1/messages', {
    key,
    body: { to: GERMAN, from: 'Outage', body: `Ihre Bestellung ${idempotencyKey} ist da` },
    headers: { 'idempotency-key': idempotencyKey },
  });

describe('a us-east-1 outage', () => {
  it('leaves the EU endpoint accepting, sending and reporting EU messages, and reading tenant settings', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Outage', senders: ['Outage'] });
    // The tenant, its key and its sender ID reach the EU region (replication, seconds at most),
    // and the EU region has served it once before the outage.
    await waitFor(async () => {
      const res = await euApi.call('GET', '/v1/settings/replies', { key: t.key });
      return res.status === 200 ? true : undefined;
    }, 'the tenant readable in the EU region');
    const before = await sendGerman(t.key, 'before-outage');
    expect(before.status).toBe(202);

    for (const p of proxies)
      p.set((_op, _body, region) => (region === gateway.regions.global ? 'unavailable' : undefined));
    // Every EU function starts cold during the outage (as Lambda recycles idle instances): what
    // it loads at start (the API key pepper, the recipient pseudonym key) comes from the EU too.
    const eu = [...gateway.functions.values()].filter((f) => f.jurisdiction === 'eu');
    const coldBefore = eu.reduce((n, f) => n + f.fn.coldStarts, 0);
    for (const f of eu) await f.fn.stop();
    try {
      // The global region is down indeed: its endpoint cannot read anything.
      expectProblem(await api.call('GET', '/v1/messages', { key: t.key }), 503, 'service-unavailable');

      const settings = await euApi.call<{ helpText: string }>('GET', '/v1/settings/replies', { key: t.key });
      expect(settings.status).toBe(200);
      expect(settings.body.helpText).toEqual(expect.any(String));

      const sent = await sendGerman(t.key, 'during-outage');
      expect(sent.status).toBe(202);
      expect(sent.body.message.jurisdiction).toBe('eu');
      const id = sent.body.message.id;
      const delivered = await waitFor(
        async () => {
          const res = await euApi.call<{ status: string }>('GET', `/v1/messages/${id}`, { key: t.key });
          return res.body.status === 'delivered' ? res.body : undefined;
        },
        'the EU message delivered during the outage',
        60_000,
      );
      expect(delivered.status).toBe('delivered');
      expect(proxies.reduce((n, p) => n + p.counts.faulted, 0)).toBeGreaterThan(0);
      expect(eu.reduce((n, f) => n + f.fn.coldStarts, 0)).toBeGreaterThan(coldBefore);
    } finally {
      for (const p of proxies) p.clear();
    }
  }, 180_000);
});
