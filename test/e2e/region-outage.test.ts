import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../infra/local/gateway.ts';
import { localClients, uniqueName } from '../support/aws.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { client, expectProblem, issueOwnerKey, onboard, waitFor } from '../support/http.ts';
import { type Received, startWebhookReceiver } from '../support/webhook-receiver.ts';

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
// A webhook receiver on this machine (loopback allowed for this local gateway only).
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let receiverUrl: string;
let received: Received[];

const GERMAN = '+4915123456780';

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  ({ url: receiverUrl, received } = receiver);
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
    allowLoopbackWebhooks: true,
  });
  api = client(gateway.url);
  euApi = client(gateway.euUrl);
});

afterAll(async () => {
  for (const p of proxies ?? []) p.clear();
  await gateway?.stop();
  for (const p of proxies ?? []) await p.close();
  receiver?.close();
});

type Sent = { message: { id: string; jurisdiction: string } };
const sendGerman = (key: string, idempotencyKey: string) =>
  euApi.call<Sent>('POST', '/v1/messages', {
    key,
    body: { to: GERMAN, from: 'Outage', body: `Ihre Bestellung ${idempotencyKey} ist da` },
    headers: { 'idempotency-key': idempotencyKey },
  });

/** Message `id` read `delivered` at the EU endpoint. */
const deliveredInEu = (key: string, id: string, what: string) =>
  waitFor(
    async () => {
      const res = await euApi.call<{ status: string }>('GET', `/v1/messages/${id}`, { key });
      return res.body.status === 'delivered' ? res.body : undefined;
    },
    what,
    60_000,
  );

/** The receiver's `message.status` event for message `id` reaching `delivered`, verified with `secret`. */
const deliveredTo = (path: string, secret: string, id: string) =>
  waitFor(
    async () =>
      received
        .filter((r) => r.path === path)
        .map(
          (r) =>
            new Webhook(secret).verify(r.body, {
              'webhook-id': String(r.headers['webhook-id']),
              'webhook-timestamp': String(r.headers['webhook-timestamp']),
              'webhook-signature': String(r.headers['webhook-signature']),
            }) as { type: string; data: { id: string; status: string; jurisdiction: string } },
        )
        .find((e) => e.type === 'message.status' && e.data.id === id && e.data.status === 'delivered'),
    `the webhook for ${id}, delivered`,
    60_000,
  );

/** Requests the fault proxies have refused so far. */
const faulted = () => proxies.reduce((n, p) => n + p.counts.faulted, 0);

/** Runs `during` with the global region down (each request to its services refused), then brings it back. */
async function globalRegionDown(during: () => Promise<void>) {
  for (const p of proxies)
    p.set((_op, _body, region) => (region === gateway.regions.global ? 'unavailable' : undefined));
  try {
    await during();
  } finally {
    for (const p of proxies) p.clear();
  }
}

/** Waits until the tenant (its key, settings and sender IDs) has replicated to the EU region. */
const readableInEu = (key: string) =>
  waitFor(async () => {
    const res = await euApi.call('GET', '/v1/settings/replies', { key });
    return res.status === 200 ? true : undefined;
  }, 'the tenant readable in the EU region');

describe('a us-east-1 outage', () => {
  it('leaves the EU endpoint accepting, sending and reporting EU messages, and reading tenant settings', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Outage', senders: ['Outage'] });
    // The tenant, its key and its sender ID reach the EU region (replication, seconds at most),
    // and the EU region has served it once before the outage.
    await readableInEu(t.key);
    const before = await sendGerman(t.key, 'before-outage');
    expect(before.status).toBe(202);

    await globalRegionDown(async () => {
      // Every EU function starts cold during the outage (as Lambda recycles idle instances): what
      // it loads at start (the API key pepper, the recipient pseudonym key) comes from the EU too.
      const eu = [...gateway.functions.values()].filter((f) => f.jurisdiction === 'eu');
      const coldBefore = eu.reduce((n, f) => n + f.fn.coldStarts, 0);
      for (const f of eu) await f.fn.stop();
      // The global region is down indeed: its endpoint cannot read anything.
      expectProblem(await api.call('GET', '/v1/messages', { key: t.key }), 503, 'service-unavailable');

      const settings = await euApi.call<{ helpText: string }>('GET', '/v1/settings/replies', { key: t.key });
      expect(settings.status).toBe(200);
      expect(settings.body.helpText).toEqual(expect.any(String));

      const sent = await sendGerman(t.key, 'during-outage');
      expect(sent.status).toBe(202);
      expect(sent.body.message.jurisdiction).toBe('eu');
      const id = sent.body.message.id;
      const delivered = await deliveredInEu(t.key, id, 'the EU message delivered during the outage');
      expect(delivered.status).toBe('delivered');
      expect(faulted()).toBeGreaterThan(0);
      expect(eu.reduce((n, f) => n + f.fn.coldStarts, 0)).toBeGreaterThan(coldBefore);
    });
  }, 180_000);

  it("takes a tenant's first EU message during the outage: its EU key is made in the EU region alone", async () => {
    const warm = await onboard(api, gateway.adminToken, { name: 'WarmEu', senders: ['Outage'] });
    const t = await onboard(api, gateway.adminToken, { name: 'FirstEu', senders: ['Outage'] });
    for (const tenant of [warm, t]) {
      await readableInEu(tenant.key);
    }
    // The EU region has sent a message before (any tenant's): it holds its own copy of the
    // gateway's system secrets, made once per deployment from the global region's (README).
    expect((await sendGerman(warm.key, 'warm-eu')).status).toBe(202);
    await globalRegionDown(async () => {
      const sent = await sendGerman(t.key, 'first-eu-during-outage');
      expect(sent.status).toBe(202);
      const id = sent.body.message.id;
      const delivered = await deliveredInEu(
        t.key,
        id,
        "the tenant's first EU message delivered during the outage",
      );
      expect(delivered.status).toBe('delivered');
      expect(faulted()).toBeGreaterThan(0);
    });
  }, 180_000);

  it("leaves the EU region delivering its events to a webhook created at the global endpoint, with the secret's EU copy", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Hooked', senders: ['Outage'] });
    const owner = (await issueOwnerKey(api, gateway.adminToken, t.tenantId)).secret;
    // Created at the global endpoint: its secret sealed there under the tenant's global key only.
    const hook = await api.call<{ id: string; secret: string }>('POST', '/v1/webhooks', {
      key: owner,
      body: { url: `${receiverUrl}/eu-hook`, events: ['message.status'] },
    });
    expect(hook.status).toBe(201);
    // The endpoint replicated to the EU (listed there; listing opens no secret).
    await waitFor(async () => {
      const res = await euApi.call<{ data: { id: string }[] }>('GET', '/v1/webhooks', { key: owner });
      return res.body.data?.some((h) => h.id === hook.body.id) ? true : undefined;
    }, 'the webhook endpoint listed in the EU region');
    const delivered = (id: string) => deliveredTo('/eu-hook', hook.body.secret, id);

    // One EU event before the outage: the EU worker opens the global copy and keeps an EU one.
    const before = await sendGerman(t.key, 'hook-before-outage');
    expect(before.status).toBe(202);
    expect((await delivered(before.body.message.id)).data.jurisdiction).toBe('eu');

    await globalRegionDown(async () => {
      // The EU functions start cold: no key or secret cached from before.
      for (const f of gateway.functions.values()) if (f.jurisdiction === 'eu') await f.fn.stop();
      const faultedBefore = faulted();
      const during = await sendGerman(t.key, 'hook-during-outage');
      expect(during.status).toBe(202);
      const event = await delivered(during.body.message.id);
      expect(event.data).toMatchObject({ status: 'delivered', jurisdiction: 'eu' });
      // us-east-1 was down indeed: whatever asked it was refused.
      expectProblem(await api.call('GET', '/v1/webhooks', { key: owner }), 503, 'service-unavailable');
      expect(faulted()).toBeGreaterThan(faultedBefore);
    });
  }, 240_000);

  it('leaves the EU region delivering its events to a webhook created at the EU endpoint, with no delivery before', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Hooked in the EU', senders: ['Outage'] });
    const owner = (await issueOwnerKey(api, gateway.adminToken, t.tenantId)).secret;
    await waitFor(async () => {
      const res = await euApi.call('GET', '/v1/webhooks', { key: owner });
      return res.status === 200 ? true : undefined;
    }, 'the owner key usable in the EU region');
    // The tenant's EU key exists (its first EU message, delivered before the webhook exists).
    const first = await sendGerman(t.key, 'eu-key-before-outage');
    expect(first.status).toBe(202);
    await deliveredInEu(t.key, first.body.message.id, 'the first EU message delivered');
    // Created at the EU endpoint: sealed there under the tenant's global key and its EU key.
    const hook = await euApi.call<{ id: string; secret: string }>('POST', '/v1/webhooks', {
      key: owner,
      body: { url: `${receiverUrl}/eu-made`, events: ['message.status'] },
    });
    expect(hook.status).toBe(201);

    await globalRegionDown(async () => {
      for (const f of gateway.functions.values()) if (f.jurisdiction === 'eu') await f.fn.stop();
      const during = await sendGerman(t.key, 'eu-hook-during-outage');
      expect(during.status).toBe(202);
      const event = await deliveredTo('/eu-made', hook.body.secret, during.body.message.id);
      expect(event.data.jurisdiction).toBe('eu');
    });
  }, 240_000);
});
