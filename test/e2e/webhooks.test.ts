import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { SANDBOX_REPLYING_NUMBER } from '../../layers/core/sandbox.ts';
import { localClients } from '../support/aws.ts';
import { client, expectProblem, issueOwnerKey, onboard, waitFor } from '../support/http.ts';
import { NO_CACHES, startTestGateway } from '../support/local-gateway.ts';
import { type Received, startWebhookReceiver } from '../support/webhook-receiver.ts';

type Event = { type: string; data: Record<string, unknown> };

const { sqs } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let base: string;
let received: Received[];

beforeAll(async () => {
  // A receiver on this machine: allowed only because this local gateway is told so.
  receiver = await startWebhookReceiver((path) => (path === '/fail' ? 500 : 204));
  ({ url: base, received } = receiver);
  gateway = await startTestGateway('hooks', {
    ...NO_CACHES,
    allowLoopbackWebhooks: true,
    webhookRetrySeconds: [1, 1],
  });
  api = client(gateway.url);
});

afterAll(async () => {
  await gateway?.stop();
  receiver?.close();
});

const headersOf = (r: Received) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});

const owner = async (tenantId: string) => (await issueOwnerKey(api, gateway.adminToken, tenantId)).secret;

/** The events the receiver got at `path` that match, verified with the endpoint's secret. */
const eventsAt = (path: string, secret: string, match: (e: Event) => boolean) =>
  received
    .filter((r) => r.path === path)
    .map((r) => new Webhook(secret).verify(r.body, headersOf(r)) as Event)
    .filter(match);

describe('webhooks', () => {
  it('delivers signed status changes and replies, retries a failing endpoint and dead-letters it with the reason', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Hooked', senders: ['Hooked'] });
    const key = await owner(t.tenantId);

    for (const url of [
      'https://10.0.0.1/hook',
      'https://169.254.169.254/latest',
      'https://[::ffff:192.168.0.1]/x',
      'http://hooks.example.com/x',
    ]) {
      const refused = await api.call('POST', '/v1/webhooks', {
        key,
        body: { url, events: ['message.status'] },
      });
      expectProblem(refused, 422, 'validation-error');
      expect((refused.body as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/url');
    }
    const ok = await api.call<{ id: string; secret: string }>('POST', '/v1/webhooks', {
      key,
      body: { url: `${base}/ok`, events: ['message.status', 'message.inbound'], description: 'main' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.secret).toMatch(/^whsec_/);
    const listed = await api.call<{ data: object[] }>('GET', '/v1/webhooks', { key });
    expect(JSON.stringify(listed.body)).not.toContain(ok.body.secret);

    // A status change: sent, then delivered, each signed and verifiable with the secret.
    const sent = await api.call<{ message: { id: string } }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: SANDBOX_REPLYING_NUMBER, from: 'Hooked', body: 'Your table is ready {reply:On my way}' },
    });
    const id = sent.body.message.id;
    const statuses = await waitFor(async () => {
      const events = eventsAt('/ok', ok.body.secret, (e) => e.type === 'message.status' && e.data.id === id);
      // Two workers report them (dispatch: sent; receipts: delivered): either may come first.
      const seen = new Set(events.map((e) => e.data.status));
      return seen.has('sent') && seen.has('delivered') ? events : undefined;
    }, 'the status webhooks');
    expect(statuses.map((e) => e.data.status).sort()).toEqual(['delivered', 'sent']);
    expect(statuses[0]!.data).toMatchObject({ jurisdiction: 'global', mode: 'live' });
    expect(JSON.stringify(statuses)).not.toContain('Your table is ready');
    const first = received.find((r) => r.path === '/ok')!;
    expect(first.headers['webhook-id']).toMatch(/^wev_/);
    expect(first.headers['content-type']).toBe('application/json');

    // The reply, as the tenant's own data, to its own endpoint.
    const inbound = await waitFor(async () => {
      const [e] = eventsAt('/ok', ok.body.secret, (e) => e.type === 'message.inbound');
      return e;
    }, 'the inbound webhook');
    expect(inbound.data).toMatchObject({ from: SANDBOX_REPLYING_NUMBER, body: 'On my way', to: 'Hooked' });

    // A failing endpoint: three attempts (one, then two retries), then dead with the reason.
    const failing = await api.call<{ id: string; secret: string }>('POST', '/v1/webhooks', {
      key,
      body: { url: `${base}/fail`, events: ['message.status'] },
    });
    await api.call('POST', '/v1/messages', {
      key: t.key,
      body: { to: '+12025550160', from: 'Hooked', body: 'Second message today' },
    });
    const history = await waitFor(
      async () => {
        const res = await api.call<{
          data: { status: string; attempts: number; lastStatusCode?: number; lastError?: string }[];
        }>('GET', `/v1/webhooks/${failing.body.id}/deliveries`, { key });
        return res.body.data.length >= 2 && res.body.data.every((d) => d.status === 'dead')
          ? res.body.data
          : undefined;
      },
      'dead deliveries',
      30_000,
    );
    expect(history[0]).toMatchObject({
      status: 'dead',
      attempts: 3,
      lastStatusCode: 500,
      lastError: 'The endpoint answered HTTP 500. Gave up after 3 attempts.',
    });
    const tries = received.filter((r) => r.path === '/fail');
    expect(tries.length).toBe(6); // sent and delivered, three attempts each
    expect(new Set(tries.map((r) => r.headers['webhook-id'])).size).toBe(2);
    const dlq = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: gateway.queues.webhooksDlq, MaxNumberOfMessages: 10 }),
    );
    const dead = (dlq.Messages ?? []).map((m) => JSON.parse(m.Body!));
    expect(dead.length).toBeGreaterThanOrEqual(1);
    expect(dead[0]).toMatchObject({
      endpointId: failing.body.id,
      attempts: 3,
      reason: expect.stringContaining('HTTP 500'),
    });
    expect(dead[0]).not.toHaveProperty('data');

    // Rotation: both secrets sign during the grace period.
    const rotated = await api.call<{ secret: string }>('POST', `/v1/webhooks/${ok.body.id}/rotate-secret`, {
      key,
      body: { graceSeconds: 600 },
    });
    expect(rotated.status).toBe(200);
    const before = received.length;
    await api.call('POST', '/v1/messages', {
      key: t.key,
      body: { to: '+12025550161', from: 'Hooked', body: 'Third one' },
    });
    const after = await waitFor(
      async () => received.slice(before).find((r) => r.path === '/ok'),
      'a delivery after rotation',
    );
    expect(new Webhook(rotated.body.secret).verify(after.body, headersOf(after))).toBeDefined();
    expect(new Webhook(ok.body.secret).verify(after.body, headersOf(after))).toBeDefined();

    // Another tenant cannot see, rotate, read the history of or remove this tenant's endpoint.
    const other = await onboard(api, gateway.adminToken, { name: 'Other', senders: [] });
    const otherKey = await owner(other.tenantId);
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${ok.body.id}`],
      ['GET', `/v1/webhooks/${ok.body.id}/deliveries`],
      ['POST', `/v1/webhooks/${ok.body.id}/rotate-secret`],
      ['DELETE', `/v1/webhooks/${ok.body.id}`],
    ] as const) {
      const res = await api.call(method, path, { key: otherKey, ...(method === 'POST' ? { body: {} } : {}) });
      expectProblem(res, 404, 'not-found');
    }
    expect((await api.call<{ data: unknown[] }>('GET', '/v1/webhooks', { key: otherKey })).body.data).toEqual(
      [],
    );

    expect((await api.call('DELETE', `/v1/webhooks/${failing.body.id}`, { key })).status).toBe(204);
    expectProblem(await api.call('GET', `/v1/webhooks/${failing.body.id}`, { key }), 404, 'not-found');
  }, 90_000);
});
