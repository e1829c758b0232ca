import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { seededUlid } from '../../layers/core/ids.ts';
import { SANDBOX_REPLYING_NUMBER } from '../../layers/core/sandbox.ts';
import { localClients, uniqueName } from '../support/aws.ts';
import {
  carrierReply,
  carrierToken,
  client,
  expectProblem,
  onboard,
  SENDER_IDENTITY,
  waitFor,
} from '../support/http.ts';
import { NO_CACHES, startTestGateway } from '../support/local-gateway.ts';

type Message = { id: string; status: string; body: string | null; to: string };
type Inbound = {
  id: string;
  from: string;
  body: string | null;
  action: string | null;
  keyword: string | null;
};

const { dynamodb } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  gateway = await startTestGateway('rights', {
    ...NO_CACHES,
  });
  api = client(gateway.url);
});

afterAll(async () => {
  await gateway?.stop();
});

const send = (key: string, body: object) =>
  api.call<{ message: Message }>('POST', '/v1/messages', { key, body });

/** A message once it has left `queued` and `sent` (a reply answers only what reached the person). */
const settled = (key: string, id: string) =>
  waitFor(async () => {
    const res = await api.call<Message & { error?: { code: string } }>('GET', `/v1/messages/${id}`, { key });
    return res.body.status === 'queued' || res.body.status === 'sent' ? undefined : res.body;
  }, `message ${id} to settle`);

/** The one-time code the sandbox "delivered" to the person's handset. */
async function codeSentFor(verificationId: string) {
  const item = await waitFor(async () => {
    const out = await dynamodb.send(
      new GetItemCommand({
        TableName: gateway.tables.sandboxLedger,
        Key: marshall({ pk: `SANDBOX#sys_${verificationId.slice(4)}`, sk: 'SEND' }),
      }),
    );
    return out.Item ? unmarshall(out.Item) : undefined;
  }, 'the one-time code');
  return /\d{6}/.exec(String(item.body))![0];
}

/** The legal names "who sent me this?" gives the person for `senderId` (its one-time code confirmed). */
async function whoSent(person: string, senderId: string) {
  const start = await api.call<{ verificationId: string }>('POST', '/public/v1/verifications', {
    body: { phone: person, purpose: 'identify', senderId, sentAt: new Date().toISOString() },
  });
  const id = start.body.verificationId;
  const answer = await api.call<{ senders: { legalName: string }[] }>(
    'POST',
    `/public/v1/verifications/${id}/confirm`,
    { body: { code: await codeSentFor(id) } },
  );
  return answer.body.senders.map((s) => s.legalName);
}

const optOutsOf = (key: string) =>
  api.call<{ data: unknown[] }>('GET', '/v1/opt-outs', { key }).then((r) => r.body.data);

/**
 * The person texts STOP to `sender` through the carrier's inbound endpoint; the reply (an opt-out)
 * lands with the tenant of `ownerKey` only, never with the tenant of `otherKey`.
 */
async function stopReachesOnly(person: string, sender: string, ownerKey: string, otherKey: string) {
  const token = await carrierToken(api, gateway.adminToken);
  const stop = carrierReply(person, sender, 'STOP');
  expect((await api.call('POST', '/carrier/v1/inbound', { token, body: stop })).status).toBe(202);
  const inbound = (key: string) =>
    api.call<{ data: Inbound[] }>('GET', '/v1/inbound', { key }).then((r) => r.body.data);
  const landed = await waitFor(async () => {
    const [a, b] = await Promise.all([inbound(ownerKey), inbound(otherKey)]);
    return a.length + b.length > 0 ? { a, b } : undefined;
  }, 'the STOP reply');
  expect(landed.b).toEqual([]);
  expect(landed.a).toEqual([expect.objectContaining({ from: person, action: 'opt_out' })]);
}

describe('a recipient replies STOP through the sandbox carrier', () => {
  it('is answered, opted out, refused explicitly, and let back in only with a new consent', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Shop', senders: ['Shop'] });
    const first = await send(t.key, {
      to: SANDBOX_REPLYING_NUMBER,
      from: 'Shop',
      body: 'Sale today {reply:Stop please}',
    });
    expect(first.status).toBe(202);
    const reply = await waitFor(async () => {
      const res = await api.call<{ data: Inbound[] }>('GET', '/v1/inbound', { key: t.key });
      return res.body.data.find((r) => r.action === 'opt_out');
    }, 'the STOP reply');
    expect(reply).toMatchObject({ from: SANDBOX_REPLYING_NUMBER, body: 'Stop please', keyword: 'STOP' });
    // The confirmation went out to the person.
    const list = await api.call<{ data: Message[] }>('GET', '/v1/messages', { key: t.key });
    expect(
      list.body.data.some(
        (m) => m.to === SANDBOX_REPLYING_NUMBER && m.body?.startsWith('You are unsubscribed'),
      ),
    ).toBe(true);
    const optOuts = await api.call<{ data: { phone: string; scope: string }[] }>('GET', '/v1/opt-outs', {
      key: t.key,
    });
    expect(optOuts.body.data).toEqual([
      expect.objectContaining({ phone: SANDBOX_REPLYING_NUMBER, scope: 'all', source: 'keyword:STOP' }),
    ]);

    const refused = await send(t.key, { to: SANDBOX_REPLYING_NUMBER, from: 'Shop', body: 'Still there?' });
    expectProblem(refused, 422, 'recipient-opted-out');
    expect((refused.body as unknown as { errors: unknown }).errors).toEqual([
      { pointer: '/to', detail: expect.stringContaining('opted out') },
    ]);

    const path = `/v1/opt-outs/${encodeURIComponent(SANDBOX_REPLYING_NUMBER)}`;
    expectProblem(await api.call('DELETE', path, { key: t.key }), 409, 'consent-required');
    const consent = await api.call('POST', '/v1/consents', {
      key: t.key,
      body: { phone: SANDBOX_REPLYING_NUMBER, source: 'store counter form', disclosureVersion: 'v2' },
    });
    expect(consent.status).toBe(201);
    expect(consent.body).toMatchObject({ kind: 'granted', ip: expect.any(String), disclosureVersion: 'v2' });
    expect((await api.call('DELETE', path, { key: t.key })).body).toEqual({ removed: true });
    expect(
      (await send(t.key, { to: SANDBOX_REPLYING_NUMBER, from: 'Shop', body: 'Welcome back' })).status,
    ).toBe(202);
    const ledger = await api.call<{ live: boolean; data: { kind: string; source: string }[] }>(
      'GET',
      `/v1/consents/${encodeURIComponent(SANDBOX_REPLYING_NUMBER)}`,
      { key: t.key },
    );
    expect(ledger.body.live).toBe(true);
    expect(ledger.body.data.map((c) => `${c.kind} ${c.source}`)).toEqual([
      'withdrawn keyword:STOP',
      'granted store counter form',
    ]);
  });

  it('refuses a promotional message without consent and sends it with one', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Promo', senders: ['Promo'] });
    const offer = { to: '+12025550188', from: 'Promo', body: '20% off', category: 'promotional' };
    expectProblem(await send(t.key, offer), 422, 'consent-required');
    await api.call('POST', '/v1/consents', {
      key: t.key,
      body: { phone: offer.to, source: 'checkout', disclosureVersion: 'v1', ip: '198.51.100.7' },
    });
    expect((await send(t.key, offer)).status).toBe(202);
  });

  it("lets a send-only key keep the lists it sends by, as the README's scopes say, and read them only with read", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Sender', senders: [], scopes: ['send'] });
    const phone = '+12025550189';
    const added = await api.call('POST', '/v1/opt-outs', { key: t.key, body: { phone, scope: 'all' } });
    expect(added.status).toBe(201);
    const consent = await api.call('POST', '/v1/consents', {
      key: t.key,
      body: { phone, source: 'store counter', disclosureVersion: 'v1', ip: '198.51.100.7' },
    });
    expect(consent.status).toBe(201);
    const removed = await api.call('DELETE', `/v1/opt-outs/${encodeURIComponent(phone)}`, { key: t.key });
    expect(removed.status).toBe(200);
    expectProblem(await api.call('GET', '/v1/opt-outs', { key: t.key }), 403, 'forbidden');
    expectProblem(
      await api.call('GET', `/v1/consents/${encodeURIComponent(phone)}`, { key: t.key }),
      403,
      'forbidden',
    );
  });
});

describe('a test-only tenant whose sandbox handset replies STOP', () => {
  it('gets the reply and opt-out, and the confirmation is test traffic with no live send or cost', async () => {
    const t = await onboard(api, gateway.adminToken, {
      name: 'Tester',
      mode: 'test',
      scopes: ['send', 'read', 'admin'],
      senders: [],
    });
    const sent = await send(t.key, { to: SANDBOX_REPLYING_NUMBER, from: 'Tester', body: 'Try {reply:STOP}' });
    expect(sent.body.message).toMatchObject({ mode: 'test' });
    await waitFor(async () => {
      const res = await api.call<{ data: Inbound[] }>('GET', '/v1/inbound', { key: t.key });
      return res.body.data.find((r) => r.action === 'opt_out');
    }, 'the STOP reply');
    type Usage = {
      data: { mode: string; status: string; messages: number }[];
      totals: { estimatedCostUsd: number };
    };
    // Both messages, the offer and the confirmation, handed to the sandbox.
    const usage = await waitFor(async () => {
      const res = await api.call<Usage>('GET', '/v1/usage?groupBy=', { key: t.key });
      const sentCount = res.body.data.filter((r) => r.status === 'sent').reduce((n, r) => n + r.messages, 0);
      return sentCount >= 2 ? res.body : undefined;
    }, 'the confirmation counted');
    expect(usage.data.find((r) => r.status === 'sent')).toMatchObject({ mode: 'test', messages: 2 });
    expect(usage.data.filter((r) => r.mode === 'live')).toEqual([]);
    expect(usage.totals.estimatedCostUsd).toBe(0);
  });
});

describe("a recipient's data under subject rights", () => {
  it('is exported with the opt-out, consents and replies; erasure keeps only the opt-out and says so', async () => {
    const t = await onboard(api, gateway.adminToken, {
      name: 'Rights',
      scopes: ['send', 'read', 'admin'],
      senders: ['Rights'],
    });
    const phone = SANDBOX_REPLYING_NUMBER;
    await send(t.key, { to: phone, from: 'Rights', body: 'Hello {reply:STOP}' });
    await waitFor(async () => {
      const res = await api.call<{ data: Inbound[] }>('GET', '/v1/inbound', { key: t.key });
      return res.body.data.find((r) => r.action === 'opt_out');
    }, 'the STOP reply');
    const path = `/v1/subjects/${encodeURIComponent(phone)}`;
    type Data = { optOut: unknown; consents: unknown[]; replies: { body: string }[]; messages: unknown[] };
    const exported = await api.call<{ jurisdictions: { global: Data } }>('GET', `${path}/export`, {
      key: t.key,
    });
    expect(exported.body.jurisdictions.global).toMatchObject({
      optOut: { phone, scope: 'all', source: 'keyword:STOP' },
      consents: [expect.objectContaining({ kind: 'withdrawn' })],
      replies: [expect.objectContaining({ body: 'STOP' })],
    });
    const erased = await api.call<{ removed: object; remains: { what: string }[] }>(
      'DELETE',
      `${path}?reason=request`,
      {
        key: t.key,
      },
    );
    expect(erased.body.removed).toMatchObject({ consentsAndReplies: 2 });
    expect(erased.body.remains.map((r) => r.what).join()).toContain('opt-out');
    const after = await api.call<{ jurisdictions: { global: Data } }>('GET', `${path}/export`, {
      key: t.key,
    });
    expect(after.body.jurisdictions.global).toMatchObject({ consents: [], replies: [], messages: [] });
    expect(after.body.jurisdictions.global.optOut).not.toBeNull();
    expectProblem(
      await send(t.key, { to: phone, from: 'Rights', body: 'Again?' }),
      422,
      'recipient-opted-out',
    );
  });
});

describe('sender IDs', () => {
  it('are applied for, reviewed with their identity, rejected with a reason or approved, and only then usable', async () => {
    const t = await onboard(api, gateway.adminToken, {
      name: 'Initech',
      scopes: ['send', 'read', 'admin'],
      senders: [],
    });
    expectProblem(
      await send(t.key, { to: '+12025550100', from: 'Initech', body: 'Hi' }),
      422,
      'sender-id-not-approved',
    );
    const applied = await api.call<{ id: string; status: string }>('POST', '/v1/sender-ids', {
      key: t.key,
      body: { value: 'Initech', countries: ['US'], identity: SENDER_IDENTITY },
    });
    expect(applied.body.status).toBe('pending');
    const pending = await api.call<{ data: { id: string }[] }>('GET', '/admin/sender-ids', {
      token: gateway.adminToken,
    });
    expect(pending.body.data.map((p) => p.id)).toContain(applied.body.id);
    const review = await api.call('GET', `/admin/tenants/${t.tenantId}/sender-ids/${applied.body.id}`, {
      token: gateway.adminToken,
    });
    expect(review.body).toMatchObject({ value: 'Initech', identity: SENDER_IDENTITY });
    const decide = (body: object) =>
      api.call('POST', `/admin/tenants/${t.tenantId}/sender-ids/${applied.body.id}/decision`, {
        token: gateway.adminToken,
        body,
      });
    expectProblem(await decide({ decision: 'rejected' }), 422, 'validation-error');
    const rejected = await decide({
      decision: 'rejected',
      reason: 'Registration number does not match the company',
    });
    expect(rejected.body).toMatchObject({
      status: 'rejected',
      reason: expect.stringContaining('does not match'),
    });
    expect(rejected.body).toHaveProperty('identityPurgeAt');
    // The tenant reads the one application and the operator's reason; no other account can.
    const own = await api.call('GET', `/v1/sender-ids/${applied.body.id}`, { key: t.key });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: applied.body.id, value: 'Initech', status: 'rejected' });
    expect(own.body).not.toHaveProperty('identity');
    const other = await onboard(api, gateway.adminToken, { name: 'Other', scopes: ['read'], senders: [] });
    expectProblem(
      await api.call('GET', `/v1/sender-ids/${applied.body.id}`, { key: other.key }),
      404,
      'not-found',
    );
    expectProblem(await api.call('GET', '/v1/sender-ids/sid_1', { key: t.key }), 422, 'validation-error');
    expectProblem(await decide({ decision: 'approved' }), 409, 'sender-id-decided');
    expectProblem(
      await send(t.key, { to: '+12025550100', from: 'Initech', body: 'Hi' }),
      422,
      'sender-id-not-approved',
    );

    const again = await api.call<{ id: string }>('POST', '/v1/sender-ids', {
      key: t.key,
      body: { value: 'Initech', countries: ['US'], identity: SENDER_IDENTITY },
    });
    await api.call('POST', `/admin/tenants/${t.tenantId}/sender-ids/${again.body.id}/decision`, {
      token: gateway.adminToken,
      body: { decision: 'approved' },
    });
    expect((await send(t.key, { to: '+12025550100', from: 'Initech', body: 'Hi' })).status).toBe(202);
    // Approved for the US only.
    expectProblem(
      await send(t.key, { to: '+447400123456', from: 'Initech', body: 'Hi' }),
      422,
      'sender-id-not-approved',
    );
  });
});

describe("an operator's abuse controls", () => {
  const controls = (tenantId: string, body: object) =>
    api.call('PUT', `/admin/tenants/${tenantId}/controls`, { token: gateway.adminToken, body });

  it('refuses a country outside the allow-list and everything past the monthly cap', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Capped', senders: ['Capped'] });
    expect((await controls(t.tenantId, { allowedCountries: ['US'], monthlySegmentCap: 2 })).status).toBe(200);
    expectProblem(
      await send(t.key, { to: '+447400123456', from: 'Capped', body: 'Hi' }),
      422,
      'country-not-allowed',
    );
    expect((await send(t.key, { to: '+12025550100', from: 'Capped', body: 'one' })).status).toBe(202);
    expect((await send(t.key, { to: '+12025550101', from: 'Capped', body: 'two' })).status).toBe(202);
    expectProblem(
      await send(t.key, { to: '+12025550103', from: 'Capped', body: 'three' }),
      403,
      'monthly-cap-reached',
    );
    // As stored: the refused message's flood count was given back (by the function's own role),
    // so only the two recipients that were texted have used any of their hour.
    const flood = await dynamodb.send(
      new QueryCommand({
        TableName: gateway.tables.messagesByJurisdiction.global,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :flood)',
        ExpressionAttributeValues: marshall({ ':pk': t.tenantId, ':flood': 'FLOOD#' }),
        ConsistentRead: true,
      }),
    );
    expect((flood.Items ?? []).map((i) => Number(unmarshall(i).total)).sort()).toEqual([0, 1, 1]);
  });

  it('answers exactly the requests past the rate limit with 429 and Retry-After', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Busy', mode: 'test', senders: [] });
    await controls(t.tenantId, { rateLimit: { perMinute: 1, burst: 4 } });
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await api.call('GET', '/v1/messages', { key: t.key }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 429, 429, 429]);
    for (const limited of answers.slice(4)) {
      expectProblem(limited, 429, 'rate-limited');
      const after = Number(limited.headers.get('retry-after'));
      expect(after).toBeGreaterThan(50);
      expect(after).toBeLessThanOrEqual(60);
    }
  });

  it('holds the rate limit, the flood limit and the monthly cap at their counts when sends come at once', async () => {
    const statuses = async (key: string, bodies: object[]) =>
      (await Promise.all(bodies.map((b) => send(key, b)))).map((r) => r.status).sort();
    const busy = await onboard(api, gateway.adminToken, { name: 'Busy', mode: 'test', senders: [] });
    await controls(busy.tenantId, { rateLimit: { perMinute: 1, burst: 4 } });
    const eight = Array.from({ length: 8 }, (_, i) => ({
      to: `+1202555${1100 + i}`,
      from: 'Busy',
      body: 'Hi',
    }));
    expect(await statuses(busy.key, eight)).toEqual([202, 202, 202, 202, 429, 429, 429, 429]);
    // Six identical messages an hour to one number (the default), however many come at once.
    const flood = await onboard(api, gateway.adminToken, { name: 'Flood', mode: 'test', senders: [] });
    const same = Array.from({ length: 8 }, () => ({ to: '+12025551200', from: 'Flood', body: 'Same' }));
    expect(await statuses(flood.key, same)).toEqual([202, 202, 202, 202, 202, 202, 429, 429]);
    const capped = await onboard(api, gateway.adminToken, { name: 'Cap', mode: 'test', senders: [] });
    await controls(capped.tenantId, { monthlySegmentCap: 3 });
    const six = Array.from({ length: 6 }, (_, i) => ({ to: `+1202555${1300 + i}`, from: 'Cap', body: 'Hi' }));
    expect(await statuses(capped.key, six)).toEqual([202, 202, 202, 403, 403, 403]);
    // The refused messages were never stored (the busy tenant's list would be rate-limited too).
    for (const [t, n] of [
      [flood, 6],
      [capped, 3],
    ] as const) {
      const list = await api.call<{ data: unknown[] }>('GET', '/v1/messages', { key: t.key });
      expect(list.body.data).toHaveLength(n);
    }
  });

  it('quarantines a message linking through a URL shortener, and never sends it', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Links', senders: ['Links'] });
    const res = await send(t.key, {
      to: '+12025550100',
      from: 'Links',
      body: 'Your parcel: https://bit.ly/3xYz',
    });
    expect(res.status).toBe(202);
    expect(res.body.message).toMatchObject({ status: 'quarantined', error: { code: 'content_denied' } });
    await new Promise((r) => setTimeout(r, 500));
    const later = await api.call<Message>('GET', `/v1/messages/${res.body.message.id}`, { key: t.key });
    expect(later.body.status).toBe('quarantined');
  });

  it('stops a flood of identical messages to one recipient with 429 and Retry-After', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Flood', senders: ['Flood'] });
    const statuses = [];
    for (let i = 0; i < 7; i++) {
      statuses.push((await send(t.key, { to: '+12025550111', from: 'Flood', body: 'Same again' })).status);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 429]);
    const over = await send(t.key, { to: '+12025550111', from: 'Flood', body: 'Same again' });
    expectProblem(over, 429, 'recipient-flood-limit');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('the public flows', () => {
  it('block a verified number for every tenant and answer alike whether a number is known or not', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Known', senders: ['Known'] });
    const known = '+12025550120';
    await send(t.key, { to: known, from: 'Known', body: 'Hello' });
    const unknown = '+12025550121';
    const started = [];
    for (const phone of [known, unknown]) {
      const res = await api.call<{ verificationId: string; expiresAt: string }>(
        'POST',
        '/public/v1/verifications',
        {
          body: { phone, purpose: 'block' },
        },
      );
      expect(res.status).toBe(202);
      started.push(res);
    }
    expect(Object.keys(started[0]!.body)).toEqual(Object.keys(started[1]!.body));
    for (const res of started) {
      const wrong = await api.call('POST', `/public/v1/verifications/${res.body.verificationId}/confirm`, {
        body: { code: '000000' },
      });
      expectProblem(wrong, 422, 'verification-failed');
    }
    const id = started[0]!.body.verificationId;
    const done = await api.call('POST', `/public/v1/verifications/${id}/confirm`, {
      body: { code: await codeSentFor(id) },
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ purpose: 'block', blocked: true });
    expectProblem(
      await send(t.key, { to: known, from: 'Known', body: 'Hello again' }),
      422,
      'recipient-blocked',
    );
    // The person can undo it the same way.
    const undo = await api.call<{ verificationId: string }>('POST', '/public/v1/verifications', {
      body: { phone: known, purpose: 'unblock' },
    });
    const undone = await api.call('POST', `/public/v1/verifications/${undo.body.verificationId}/confirm`, {
      body: { code: await codeSentFor(undo.body.verificationId) },
    });
    expect(undone.body).toMatchObject({ purpose: 'unblock', blocked: false });
    expect((await send(t.key, { to: known, from: 'Known', body: 'Hello again' })).status).toBe(202);
  });

  it('name the tenant behind a reference code, and nothing of the content', async () => {
    const t = await onboard(api, gateway.adminToken, {
      name: 'Refs',
      scopes: ['send', 'read', 'admin'],
      senders: ['Refs'],
    });
    const replies = await api.call('PUT', '/v1/settings/replies', {
      key: t.key,
      body: { referenceCodes: true },
    });
    expect(replies.body).toMatchObject({ referenceCodes: true });
    const sent = await send(t.key, { to: '+12025550130', from: 'Refs', body: 'Your private appointment' });
    const ref = /Ref: (\w{6})$/.exec(sent.body.message.body ?? '')![1]!;
    await settled(t.key, sent.body.message.id);
    const start = await api.call<{ verificationId: string }>('POST', '/public/v1/verifications', {
      body: { phone: '+12025550130', purpose: 'identify', reference: ref },
    });
    const id = start.body.verificationId;
    const answer = await api.call('POST', `/public/v1/verifications/${id}/confirm`, {
      body: { code: await codeSentFor(id) },
    });
    expect(answer.body).toEqual({
      purpose: 'identify',
      senders: [
        {
          legalName: 'Refs Ltd',
          contactEmail: 'ops@acme.test',
          senderId: 'Refs',
          sentAt: expect.any(String),
        },
      ],
    });
    expect(JSON.stringify(answer.body)).not.toContain('appointment');
  });
});

describe('a sender ID another tenant sends from in test mode', () => {
  it("never takes that sender's replies, opt-outs or identity", async () => {
    const alpha = await onboard(api, gateway.adminToken, { name: 'Alpha', senders: ['AlphaSMS'] });
    const squatter = await onboard(api, gateway.adminToken, { name: 'Squatter', mode: 'test', senders: [] });
    const person = '+12025550150';
    const first = await send(alpha.key, { to: person, from: 'AlphaSMS', body: 'Your order shipped' });
    expect(first.body.message).toMatchObject({ mode: 'live' });
    expect(await settled(alpha.key, first.body.message.id)).toMatchObject({ status: 'delivered' });
    // Later, from the same sender ID on a test key (which may use any sender: it reaches the sandbox).
    const fake = await send(squatter.key, { to: person, from: 'AlphaSMS', body: 'Hello' });
    expect(fake.body.message).toMatchObject({ mode: 'test' });

    await stopReachesOnly(person, 'AlphaSMS', alpha.key, squatter.key);
    expectProblem(
      await send(alpha.key, { to: person, from: 'AlphaSMS', body: 'Still there?' }),
      422,
      'recipient-opted-out',
    );
    expect(await optOutsOf(squatter.key)).toEqual([]);

    // "Who sent me this?" names only the tenant whose message reached the person.
    expect(await whoSent(person, 'AlphaSMS')).toEqual(['Alpha Ltd']);
  });
});

describe('a live message the carrier did not take', () => {
  it('never takes the replies, opt-outs or identity of the tenant whose message reached the person', async () => {
    const courier = await onboard(api, gateway.adminToken, { name: 'Courier', senders: ['AlphaSMS'] });
    const other = await onboard(api, gateway.adminToken, { name: 'Refused', senders: ['AlphaSMS'] });
    const person = '+12025550160';
    const reached = await send(courier.key, { to: person, from: 'AlphaSMS', body: 'Your parcel is here' });
    expect(await settled(courier.key, reached.body.message.id)).toMatchObject({ status: 'delivered' });
    // Later, from the same sender ID on another tenant's live key: the carrier refuses one
    // message, and another is held (quarantined) and never sent.
    const refused = await send(other.key, { to: person, from: 'AlphaSMS', body: 'Hello {refuse}' });
    expect(refused.body.message).toMatchObject({ mode: 'live' });
    expect(await settled(other.key, refused.body.message.id)).toMatchObject({
      status: 'failed',
      error: { code: 'message_refused' },
    });
    const held = await send(other.key, { to: person, from: 'AlphaSMS', body: 'Track: https://bit.ly/3xYz' });
    expect(held.body.message).toMatchObject({ mode: 'live', status: 'quarantined' });

    await stopReachesOnly(person, 'AlphaSMS', courier.key, other.key);
    expect(await optOutsOf(other.key)).toEqual([]);

    expect(await whoSent(person, 'AlphaSMS')).toEqual(['Courier Ltd']);
  }, 60_000);
});

describe('carriers reporting replies over HTTP', () => {
  it('need the carrier token, and their replies reach the tenant', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Helpful', senders: ['Helpful'] });
    const hi = await send(t.key, { to: '+12025550140', from: 'Helpful', body: 'Hi' });
    // The person answers the message they got.
    expect(await settled(t.key, hi.body.message.id)).toMatchObject({ status: 'delivered' });
    const event = {
      from: '+12025550140',
      to: 'Helpful',
      body: 'HELP',
      carrierMessageId: uniqueName('carrier'),
      receivedAt: new Date().toISOString(),
    };
    expectProblem(await api.call('POST', '/carrier/v1/inbound', { body: event }), 401, 'unauthorized');
    expectProblem(
      await api.call('POST', '/carrier/v1/inbound', { token: 'ct_wrong', body: event }),
      401,
      'unauthorized',
    );
    const issued = await api.call<{ token: string }>('POST', '/admin/carrier-token', {
      token: gateway.adminToken,
    });
    expect(issued.status).toBe(201);
    const accepted = await api.call('POST', '/carrier/v1/inbound', { token: issued.body.token, body: event });
    expect(accepted.status).toBe(202);
    const reply = await waitFor(async () => {
      const res = await api.call<{ data: Inbound[] }>('GET', '/v1/inbound', { key: t.key });
      return res.body.data.find((r) => r.action === 'help');
    }, 'the HELP reply');
    expect(reply).toMatchObject({ from: '+12025550140', body: 'HELP' });
  });
});

describe('a BLOCK sent to a number no tenant texted the person from', () => {
  /** This hour's and the next hour's count of the gateway's own messages to US numbers. */
  async function sentToUsThisHour(hour: number) {
    let total = 0;
    for (const h of [hour, hour + 1]) {
      const out = await dynamodb.send(
        new GetItemCommand({
          TableName: gateway.tables.messages,
          Key: marshall({ pk: `BUDGET#${h}#US`, sk: 'BUDGET' }),
        }),
      );
      total += out.Item ? Number(unmarshall(out.Item).sent) : 0;
    }
    return total;
  }

  it("blocks the number, and the gateway's confirmation is taken from its hourly budget", async () => {
    const person = '+12025550160';
    const hour = Math.floor(Date.now() / 3_600_000);
    const before = await sentToUsThisHour(hour);
    const token = await carrierToken(api, gateway.adminToken);
    const event = carrierReply(person, '+15005550006', 'BLOCK');
    expect((await api.call('POST', '/carrier/v1/inbound', { token, body: event })).status).toBe(202);
    // The confirmation reached the person's handset (the sandbox's ledger), sent by the gateway.
    const id = `sys_${seededUlid(Date.parse(event.receivedAt), `${event.carrierMessageId}#reply`)}`;
    const confirmation = await waitFor(async () => {
      const out = await dynamodb.send(
        new GetItemCommand({
          TableName: gateway.tables.sandboxLedger,
          Key: marshall({ pk: `SANDBOX#${id}`, sk: 'SEND' }),
        }),
      );
      return out.Item ? unmarshall(out.Item) : undefined;
    }, 'the block-all confirmation');
    expect(String(confirmation.body)).toContain('no more messages');
    expect(await sentToUsThisHour(hour)).toBe(before + 1);
    // And every tenant is refused from then on.
    const t = await onboard(api, gateway.adminToken, { name: 'Later', senders: ['Later'] });
    expectProblem(await send(t.key, { to: person, from: 'Later', body: 'Hello' }), 422, 'recipient-blocked');
  });
});
