import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  blockedAddressReason,
  generateWebhookSecret,
  signWebhook,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookSecret,
  WebhookTargetBlockedError,
  webhookUrlProblem,
} from '../../functions/webhooks/model.ts';
import type { WebhookHistory, WebhookStore } from '../../functions/webhooks/ports.ts';
import {
  makeDeliverWebhook,
  makeWebhookEndpoints,
  makeWebhookFanout,
} from '../../functions/webhooks/use-cases/webhooks.ts';
import { TenantCrypto } from '../../layers/core/crypto.ts';
import type { WebhookAttempt } from '../../layers/ports/index.ts';
import { FakeClock, FakeKeyringStore, FakeKeyService, SequenceIds } from '../support/fakes.ts';

describe('addresses a webhook may not reach', () => {
  const blocked = [
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254', // instance metadata
    '169.254.170.2', // ECS task metadata
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254', // instance metadata over IPv6
    'fc00::1',
    'ff02::1',
    '::ffff:127.0.0.1', // IPv4-mapped, dotted
    '::ffff:7f00:1', // IPv4-mapped, hex
    '::ffff:a9fe:a9fe', // mapped metadata
    '0:0:0:0:0:ffff:10.0.0.1',
    '::127.0.0.1', // IPv4-compatible
    '64:ff9b::a9fe:a9fe', // NAT64 of the metadata address
    '2002:7f00:0001::1', // 6to4 of loopback
    '2001:db8::1',
    '2001:0:4136:e378::1', // Teredo
    'fec0::1', // site-local (deprecated, still routed inside some networks)
    'feff:ffff::1',
    '3fff::1', // documentation (RFC 9637)
    '3fff:fff:ffff::1',
    'fe80::1%eth0', // with a zone
  ];
  const allowed = [
    '8.8.8.8',
    '52.94.236.248',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '3fff:1000::1', // just past the documentation range
  ];

  it.each(blocked)('refuses %s', (address) => {
    expect(blockedAddressReason(address)).toBeDefined();
  });
  it.each(allowed)('allows %s', (address) => {
    expect(blockedAddressReason(address)).toBeUndefined();
  });
  it('lets loopback through only where the local runtime allows it, and nothing else private', () => {
    expect(blockedAddressReason('127.0.0.1', { allowLoopback: true })).toBeUndefined();
    expect(blockedAddressReason('::1', { allowLoopback: true })).toBeUndefined();
    expect(blockedAddressReason('::ffff:127.0.0.1', { allowLoopback: true })).toBeUndefined();
    expect(blockedAddressReason('10.0.0.1', { allowLoopback: true })).toBeDefined();
    expect(blockedAddressReason('169.254.169.254', { allowLoopback: true })).toBeDefined();
  });
});

describe('webhook URLs', () => {
  it.each([
    ['http://hooks.example.com/x', 'must use https'],
    ['https://user:pw@hooks.example.com/x', 'must not carry credentials'],
    ['https://localhost/x', 'must name a public host'],
    ['https://metadata.google.internal/x', 'must name a public host'],
    ['https://intranet/x', 'must name a public host'],
    ['https://169.254.169.254/latest/meta-data', 'must not point at'],
    ['https://[::ffff:10.0.0.1]/x', 'must not point at'],
    ['https://10.0.0.1:8443/x', 'must not point at'],
    ['not a url', 'is not a URL'],
  ])('refuses %s', (url, reason) => {
    expect(webhookUrlProblem(url)).toContain(reason);
  });
  it('accepts a public https URL, and http to loopback only where allowed', () => {
    expect(webhookUrlProblem('https://hooks.example.com:8443/sms?x=1')).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:9000/hook')).toBe('must use https');
    expect(webhookUrlProblem('http://127.0.0.1:9000/hook', { allowLoopback: true })).toBeUndefined();
    expect(webhookUrlProblem('http://10.0.0.1/hook', { allowLoopback: true })).toBe('must use https');
  });
});

describe('signatures', () => {
  it('verify with the standardwebhooks library, under each live secret during a rotation', () => {
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
    const body = JSON.stringify({ type: 'message.status', data: { id: 'msg_1' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'wev_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook([newSecret, oldSecret], 'wev_1', ts, body),
    };
    expect(new Webhook(newSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(oldSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(newSecret).verify(`${body} `, headers)).toThrow();
  });
});

class FakeWebhookStore implements WebhookStore {
  items = new Map<string, { endpoint: WebhookEndpoint; secrets: WebhookSecret[] }>();
  async put(endpoint: WebhookEndpoint, secrets: WebhookSecret[]) {
    this.items.set(`${endpoint.tenantId}|${endpoint.id}`, { endpoint, secrets });
  }
  async get(tenantId: string, id: string) {
    return this.items.get(`${tenantId}|${id}`);
  }
  async list(tenantId: string) {
    return [...this.items.values()].filter((i) => i.endpoint.tenantId === tenantId).map((i) => i.endpoint);
  }
  async remove(tenantId: string, id: string) {
    return this.items.delete(`${tenantId}|${id}`);
  }
}
class FakeHistory implements WebhookHistory {
  attempts: WebhookAttempt[] = [];
  closed = false;
  async record(a: WebhookAttempt) {
    if (this.closed) return false;
    this.attempts.push(a);
    return true;
  }
  async list() {
    return { items: [...this.attempts].reverse() };
  }
}

/** Tenant ten_A's endpoint for status changes. */
const STATUS_HOOK = { url: 'https://hooks.example.com/sms', events: ['message.status' as const] };

function setupDeliveries() {
  const store = new FakeWebhookStore();
  const history = new FakeHistory();
  // The library checks webhook-timestamp against the real clock (5 minutes' tolerance).
  const clock = new FakeClock(new Date(Math.floor(Date.now() / 1000) * 1000));
  const posts: { url: string; headers: Record<string, string>; body: string }[] = [];
  let answer: () => Promise<{ status: number }> = async () => ({ status: 204 });
  const transport = {
    post: async (url: string, headers: Record<string, string>, body: string) => {
      posts.push({ url, headers, body });
      return answer();
    },
  };
  const endpoints = makeWebhookEndpoints({
    store,
    history: { global: history, eu: new FakeHistory() },
    clock,
    ids: new SequenceIds(),
    allowLoopback: false,
  });
  const crypto = new TenantCrypto('eu', {
    keys: new FakeKeyService(),
    keyrings: new FakeKeyringStore(),
    clock,
    limits: { maxAgeMs: 300_000, maxUses: 1_000, maxDecryptEntries: 100 },
  });
  const keptReplies = new Set<string>();
  const deliver = makeDeliverWebhook({
    store,
    history,
    crypto,
    replies: { hasInbound: async (tenantId, id) => keptReplies.has(`${tenantId}|${id}`) },
    transport,
    clock,
    schedule: [5, 300, 1800],
    historyDays: 30,
  });
  const delivery = (endpointId: string): WebhookDelivery => ({
    id: 'wev_1',
    tenantId: 'ten_A',
    endpointId,
    type: 'message.status',
    createdAt: clock.now().toISOString(),
    data: { id: 'msg_1', status: 'delivered' },
  });
  return {
    store,
    history,
    clock,
    crypto,
    keptReplies,
    posts,
    endpoints,
    deliver,
    delivery,
    setAnswer: (a: typeof answer) => (answer = a),
  };
}

describe('endpoints and deliveries', () => {
  const setup = setupDeliveries;

  it('registers an https endpoint with a secret shown once, and refuses private targets with a field-level reason', async () => {
    const { endpoints, store } = setup();
    const created = await endpoints.create('ten_A', STATUS_HOOK);
    expect(created.secret).toMatch(/^whsec_/);
    expect(await endpoints.get('ten_A', created.id)).not.toHaveProperty('secret');
    await expect(
      endpoints.create('ten_A', { url: 'https://192.168.0.10/x', events: ['message.status'] }),
    ).rejects.toMatchObject({
      issues: [{ pointer: '/url', detail: expect.stringContaining("'url' must not point at 192.168.0.10") }],
    });
    await expect(endpoints.get('ten_B', created.id)).rejects.toMatchObject({ name: 'NotFoundError' });
    expect(store.items.size).toBe(1);
  });

  it('signs each attempt so the receiver can verify it, and retries on the schedule before dead-lettering', async () => {
    const { endpoints, deliver, delivery, posts, history, setAnswer, clock } = setup();
    const { id, secret } = await endpoints.create('ten_A', STATUS_HOOK);
    setAnswer(async () => ({ status: 503 }));
    const outcomes = [];
    for (let attempt = 1; attempt <= 4; attempt++) outcomes.push(await deliver(delivery(id), attempt));
    expect(outcomes).toEqual([
      { outcome: 'retry', delaySeconds: 5 },
      { outcome: 'retry', delaySeconds: 300 },
      { outcome: 'retry', delaySeconds: 1800 },
      { outcome: 'dead', reason: 'The endpoint answered HTTP 503. Gave up after 4 attempts.' },
    ]);
    // Every attempt carries the same webhook-id and verifies with the endpoint's secret.
    for (const p of posts) {
      expect(p.headers['webhook-id']).toBe('wev_1');
      expect(new Webhook(secret).verify(p.body, p.headers)).toMatchObject({
        type: 'message.status',
        data: { id: 'msg_1' },
      });
    }
    expect(history.attempts.at(-1)).toMatchObject({ status: 'dead', attempts: 4, lastStatusCode: 503 });
    expect(history.attempts[0]).toMatchObject({
      status: 'retrying',
      nextAttemptAt: new Date(clock.now().getTime() + 5_000).toISOString(),
    });

    setAnswer(async () => ({ status: 200 }));
    await expect(deliver(delivery(id), 2)).resolves.toEqual({ outcome: 'delivered' });
    expect(history.attempts.at(-1)).toMatchObject({ status: 'delivered', lastStatusCode: 200 });
  });

  it('dead-letters at once when the address is not allowed, and drops deliveries for removed endpoints', async () => {
    const { endpoints, deliver, delivery, setAnswer, posts } = setup();
    const { id } = await endpoints.create('ten_A', STATUS_HOOK);
    setAnswer(async () => {
      throw new WebhookTargetBlockedError('10.0.0.7 is a private, loopback, link-local or reserved address');
    });
    await expect(deliver(delivery(id), 1)).resolves.toMatchObject({
      outcome: 'dead',
      reason: expect.stringContaining('10.0.0.7'),
    });
    await endpoints.remove('ten_A', id);
    const before = posts.length;
    await expect(deliver(delivery(id), 2)).resolves.toEqual({ outcome: 'dropped' });
    expect(posts.length).toBe(before);
  });

  it('neither retries nor dead-letters an attempt whose account closed while it was on its way', async () => {
    const { endpoints, deliver, delivery, history, setAnswer } = setup();
    const { id } = await endpoints.create('ten_A', STATUS_HOOK);
    setAnswer(async () => {
      history.closed = true; // the closure ran during the HTTP attempt
      return { status: 503 };
    });
    await expect(deliver(delivery(id), 1)).resolves.toEqual({ outcome: 'dropped' });
    expect(history.attempts).toEqual([]);
  });

  it('signs with both secrets during a rotation grace period, then with the new one only', async () => {
    const { endpoints, deliver, delivery, posts, clock } = setup();
    const { id, secret: first } = await endpoints.create('ten_A', STATUS_HOOK);
    const rotated = await endpoints.rotateSecret('ten_A', id, 3600);
    expect(rotated.previousSecretsValidUntil).toBe(new Date(clock.now().getTime() + 3_600_000).toISOString());
    await deliver(delivery(id), 1);
    const during = posts.at(-1)!;
    expect(new Webhook(first).verify(during.body, during.headers)).toBeDefined();
    expect(new Webhook(rotated.secret).verify(during.body, during.headers)).toBeDefined();
    clock.advance(3601_000);
    await deliver(delivery(id), 1);
    const after = posts.at(-1)!;
    // One signature now (the library's timestamp check rules out verifying an hour ahead).
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(after.headers['webhook-signature']).toBe(
      signWebhook([rotated.secret], 'wev_1', Number(after.headers['webhook-timestamp']), after.body),
    );
  });
});

/** Deliveries with one endpoint of ten_A subscribed to replies. */
async function setupForReplies() {
  const s = setupDeliveries();
  const endpoint: WebhookEndpoint = {
    tenantId: 'ten_A',
    id: 'whk_1',
    url: 'https://hooks.example.com/sms',
    events: ['message.inbound'],
    createdAt: '2026-11-30T00:00:00.000Z',
  };
  await s.store.put(endpoint, [{ value: generateWebhookSecret(), createdAt: endpoint.createdAt }]);
  /** What the fan-out puts on the queue for a reply. */
  const queuedReply = async (notice: Parameters<ReturnType<typeof makeWebhookFanout>['inbound']>[0]) => {
    const queued: WebhookDelivery[] = [];
    const fanout = makeWebhookFanout({
      endpointsOf: (tenantId) => s.store.list(tenantId),
      queue: () => ({ enqueue: async (d) => void queued.push(...d) }),
      crypto: () => s.crypto,
      ids: new SequenceIds(),
      clock: new FakeClock(),
    });
    await fanout.inbound(notice);
    return queued;
  };
  return { ...s, queuedReply };
}

describe('replies on the webhook queue', () => {
  const reply = {
    tenantId: 'ten_A',
    jurisdiction: 'eu' as const,
    id: 'inb_01',
    from: '+4915123456789',
    to: 'Acme',
    body: 'Your code 493817? STOP',
    keyword: 'STOP',
    action: 'opt_out',
    receivedAt: '2026-11-30T08:00:00.000Z',
  };

  it('queues a reply with its number and words sealed, and delivers them in clear to the endpoint', async () => {
    const { keptReplies, posts, deliver, queuedReply } = await setupForReplies();
    const queued = await queuedReply(reply);
    expect(queued).toHaveLength(1);
    const onQueue = JSON.stringify(queued);
    for (const secret of ['4915123456789', '493817', 'Acme', 'STOP', 'opt_out'])
      expect(onQueue).not.toContain(secret);

    keptReplies.add('ten_A|inb_01');
    expect(await deliver(queued[0]!, 1)).toEqual({ outcome: 'delivered' });
    const { tenantId: _t, ...data } = reply;
    expect(JSON.parse(posts[0]!.body)).toMatchObject({ type: 'message.inbound', data });
  });

  it('drops a queued reply that was erased before its delivery', async () => {
    const { posts, deliver, history, queuedReply } = await setupForReplies();
    const queued = await queuedReply(reply);
    // The reply is not kept (erased): nothing is posted and nothing recorded about it.
    expect(await deliver(queued[0]!, 1)).toEqual({ outcome: 'dropped' });
    expect(posts).toHaveLength(0);
    expect(history.attempts).toHaveLength(0);
  });
});
