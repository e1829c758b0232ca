import { createHash, randomInt } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GetItemCommand, ListTablesCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../infra/local/gateway.ts';
import { SANDBOX_REPLYING_NUMBER } from '../../layers/core/sandbox.ts';
import { localClients, localCrypto, uniqueName } from '../support/aws.ts';
import {
  carrierToken,
  client,
  deliveredMessage,
  expectProblem,
  issueOwnerKey,
  onboard,
  SENDER_IDENTITY,
  waitFor,
} from '../support/http.ts';
import { everyQueue, recordQueuedMessages } from '../support/local-gateway.ts';

type Message = {
  id: string;
  status: string;
  jurisdiction: string;
  body: string | null;
  [k: string]: unknown;
};

const { services } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let euApi: ReturnType<typeof client>;

const prefix = uniqueName('res');
const GERMAN = '+4915123456789';
const US = '+12025550100';

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    services: { kind: 'external', ...services },
    prefix,
    authorizerCacheSeconds: 1,
  });
  api = client(gateway.url);
  euApi = client(gateway.euUrl);
});

afterAll(async () => {
  await gateway?.stop();
});

async function rawItems(
  jurisdiction: 'global' | 'eu',
  table = gateway.tables.messagesByJurisdiction[jurisdiction],
) {
  const { dynamodb } = localClients(gateway.regions[jurisdiction]);
  const items: Record<string, unknown>[] = [];
  let start: Record<string, never> | undefined;
  do {
    const out = await dynamodb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []).map((i) => unmarshall(i)));
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return items;
}

/**
 * Items as stored, as text: bytes as latin1 text, and a string or number set (unmarshalled as a
 * JS Set, which JSON.stringify would print as `{}`) as an array of its members.
 */
const asStored = (items: unknown) =>
  JSON.stringify(items, (_k, v) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v instanceof Set ? [...v] : v,
  );

/** Every item of a region's messages table, as stored (bytes as latin1 text), audit trail included unless said. */
async function rawTable(jurisdiction: 'global' | 'eu', options: { withoutAudit?: boolean } = {}) {
  const items = (await rawItems(jurisdiction)).filter(
    (i) => !(options.withoutAudit && String(i.pk).endsWith('#audit')),
  );
  return asStored(items);
}

/** The gateway-wide analytics cells (`usage#<day>`, per country) of a region that name the tenant. */
async function analyticsCellsNaming(jurisdiction: 'global' | 'eu', tenantId: string) {
  return (await rawItems(jurisdiction))
    .filter((i) => String(i.pk).startsWith('usage#') && asStored(i).includes(tenantId))
    .map((i) => `${i.pk} ${i.sk}: ${asStored(i)}`);
}

/** Whatever is waiting (or in flight) on a region's queues, read without deleting. */
async function queued(jurisdiction: 'global' | 'eu') {
  const { sqs } = localClients(gateway.regions[jurisdiction]);
  const q = gateway.queues.byJurisdiction[jurisdiction];
  const bodies: string[] = [];
  for (const url of [q.dispatch, q.dispatchDlq, q.carrierEvents, q.carrierEventsDlq]) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    bodies.push(...(out.Messages ?? []).map((m) => m.Body ?? ''));
  }
  return bodies.join('\n');
}

describe('EU residency across the two local regions', () => {
  it("keeps a German recipient's message in the EU region only, even when the global endpoint takes it", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Forward', residency: 'forward' });
    const res = await api.call<{ message: Message }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: GERMAN, from: 'Acme', body: 'Ihr Code ist 4711' },
      headers: { 'idempotency-key': 'de-1' },
    });
    expect(res.status).toBe(202);
    expect(res.body.message.jurisdiction).toBe('eu');
    const id = res.body.message.id;
    await deliveredMessage(euApi, t.key, id);

    const global = await rawTable('global');
    expect(global).not.toContain(id);
    // Not even the local sandbox carrier's record of what the handset got.
    expect(JSON.stringify(await rawItems('global', gateway.tables.sandboxLedger))).not.toContain(id);
    expect(JSON.stringify(await rawItems('eu', gateway.tables.sandboxLedger))).toContain(id);
    expect(global).not.toContain('4915123456789');
    expect(await queued('global')).not.toContain(id);
    // The EU region holds it, sealed.
    const eu = await rawTable('eu');
    expect(eu).toContain(id);
    expect(eu).not.toContain('4915123456789');
    expect(eu).not.toContain('Ihr Code');
    // Either endpoint reads it back for a tenant that lets its data be forwarded.
    expect((await api.call<Message>('GET', `/v1/messages/${id}`, { key: t.key })).body.to).toBe(GERMAN);
  });

  it("relays a forward tenant's EU sends at the global endpoint to the EU region: single, batch mixed, replays", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Relay', residency: 'forward' });
    const FRENCH = '+33612345678';
    const one = await api.call<{ message: Message }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: GERMAN, from: 'Acme', body: 'Relais eins' },
      headers: { 'idempotency-key': 'relay-1' },
    });
    expect(one.status).toBe(202);
    expect(one.body.message).toMatchObject({ jurisdiction: 'eu', to: GERMAN, body: 'Relais eins' });
    expect(one.headers.get('location')).toBe(`/v1/messages/${one.body.message.id}`);
    const oneAgain = await api.call<{ message: Message }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: GERMAN, from: 'Acme', body: 'Relais eins' },
      headers: { 'idempotency-key': 'relay-1' },
    });
    expect(oneAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(oneAgain.body.message.id).toBe(one.body.message.id);

    type Batch = {
      accepted: number;
      rejected: number;
      results: {
        index: number;
        status: string;
        message?: { id: string; jurisdiction: string };
        problem?: { errors?: { pointer: string }[] };
      }[];
    };
    const batch = () =>
      api.call<Batch>('POST', '/v1/messages/batch', {
        key: t.key,
        body: {
          messages: [
            { to: GERMAN, from: 'Acme', body: 'Relais zwei' },
            { to: US, from: 'Acme', body: 'Stays here' },
            { to: 'not a number', from: 'Acme', body: 'x' },
            { to: FRENCH, from: 'Acme', body: 'Relais trois' },
            { to: FRENCH, from: 'Acme', body: '' },
          ],
        },
        headers: { 'idempotency-key': 'relay-batch-1' },
      });
    const mixed = await batch();
    expect(mixed.status).toBe(200);
    expect(mixed.body).toMatchObject({ accepted: 3, rejected: 2 });
    expect(mixed.body.results.map((r) => [r.index, r.status, r.message?.jurisdiction])).toEqual([
      [0, 'accepted', 'eu'],
      [1, 'accepted', 'global'],
      [2, 'rejected', undefined],
      [3, 'accepted', 'eu'],
      [4, 'rejected', undefined],
    ]);
    // The EU region's reason names the item's place in the batch the client sent.
    expect(mixed.body.results[2]!.problem?.errors?.[0]?.pointer).toMatch(/^\/messages\/2\//);
    expect(mixed.body.results[4]!.problem?.errors?.[0]?.pointer).toMatch(/^\/messages\/4\//);
    // The same batch again, under the same key, is the same answer: both parts replay.
    const again = await batch();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(mixed.body);

    const euIds = [
      one.body.message.id,
      mixed.body.results[0]!.message!.id,
      mixed.body.results[3]!.message!.id,
    ];
    for (const id of euIds) await deliveredMessage(euApi, t.key, id);
    const global = await rawTable('global');
    const queuedGlobal = await queued('global');
    for (const id of euIds) {
      expect(global).not.toContain(id);
      expect(queuedGlobal).not.toContain(id);
    }
    expect(global).toContain(mixed.body.results[1]!.message!.id);
    for (const number of ['4915123456789', '33612345678']) {
      expect(global).not.toContain(number);
      expect(queuedGlobal).not.toContain(number);
    }
    const eu = await rawTable('eu');
    for (const id of euIds) expect(eu).toContain(id);

    // Reads of EU data at the global endpoint: relayed too, answered by the EU region.
    const got = await api.call<Message>('GET', `/v1/messages/${euIds[0]}`, { key: t.key });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: euIds[0], to: GERMAN, body: 'Relais eins', jurisdiction: 'eu' });
    const unknown = await api.call('GET', '/v1/messages/msg_01M85ZWWMPGX6VT348ZP3J8NST', { key: t.key });
    expectProblem(unknown, 404, 'not-found');
    const local = await api.call<Message>('GET', `/v1/messages/${mixed.body.results[1]!.message!.id}`, {
      key: t.key,
    });
    expect(local.body).toMatchObject({ to: US, jurisdiction: 'global' });
    const listed = await api.call<{ data: Message[]; jurisdiction: string }>(
      'GET',
      '/v1/messages?jurisdiction=eu&limit=10',
      { key: t.key },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.jurisdiction).toBe('eu');
    expect(listed.body.data.map((m) => m.id).sort()).toEqual([...euIds].sort());
    const exported = await api.call<{ jurisdictions: { eu: { messages: Message[] } } }>(
      'GET',
      `/v1/subjects/${encodeURIComponent(GERMAN)}/export`,
      { key: t.key },
    );
    expect(exported.status).toBe(200);
    expect(exported.body.jurisdictions.eu.messages.map((m) => m.id).sort()).toEqual(
      [euIds[0]!, euIds[1]!].sort(),
    );
    const redacted = await api.call<Message>('DELETE', `/v1/messages/${euIds[2]}/body`, { key: t.key });
    expect(redacted.status).toBe(200);
    expect(redacted.body).toMatchObject({ id: euIds[2], body: null });
    // The global region keeps no trace of the relayed calls, in its tables or its audit trail.
    const after = await rawTable('global');
    for (const id of euIds) expect(after).not.toContain(id);
    for (const number of ['4915123456789', '33612345678']) expect(after).not.toContain(number);
  }, 90_000);

  it('refuses an Idempotency-Key reused with a recipient in the other jurisdiction (422), at either endpoint', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Keys', residency: 'forward' });
    const send = (c: ReturnType<typeof client>, to: string) =>
      c.call<{ message: Message }>('POST', '/v1/messages', {
        key: t.key,
        body: { to, from: 'Acme', body: 'Your order has shipped' },
        headers: { 'idempotency-key': 'both-1' },
      });
    const first = await send(api, US);
    expect(first.status).toBe(202);
    // The key's tenant-wide claim is in the tenants table, which replicates to the EU region
    // (in AWS, typically within a second; the README says a reuse within that lag may pass).
    await waitFor(async () => {
      const claims = await rawItems('eu', gateway.tables.tenants);
      return claims.some((i) => i.pk === `IDEMKEY#${t.tenantId}`) ? true : undefined;
    }, 'the Idempotency-Key claim replicated to the EU region');
    expectProblem(await send(api, GERMAN), 422, 'idempotency-key-reused');
    expectProblem(await send(euApi, GERMAN), 422, 'idempotency-key-reused');
    // The same request again is the original answer.
    expect((await send(api, US)).body.message.id).toBe(first.body.message.id);
  });

  it('answers 421 with the EU endpoint when a tenant of the default (strict) residency sends an EU subject to the global endpoint', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Strict' });
    const res = await api.call('POST', '/v1/messages', {
      key: t.key,
      body: { to: GERMAN, from: 'Acme', body: 'hi' },
    });
    expectProblem(res, 421, 'residency-misdirected');
    expect(res.body).toMatchObject({ jurisdiction: 'eu', endpoint: gateway.euUrl });
    expect((res.body.errors as { pointer: string }[])[0]!.pointer).toBe('/to');
    const viaEu = await euApi.call<{ message: Message }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: GERMAN, from: 'Acme', body: 'hi' },
    });
    expect(viaEu.status).toBe(202);
    // The global endpoint does not read the EU region for it either.
    const list = await api.call('GET', '/v1/messages?jurisdiction=eu', { key: t.key });
    expectProblem(list, 421, 'residency-misdirected');
    // Nor a subject's rights: an EU number's go through the EU endpoint, a US number's through either.
    const subject = (c: ReturnType<typeof client>, phone: string) =>
      c.call('GET', `/v1/subjects/${encodeURIComponent(phone)}/export`, { key: t.key });
    expectProblem(await subject(api, GERMAN), 421, 'residency-misdirected');
    expect((await subject(euApi, GERMAN)).status).toBe(200);
    expect((await subject(api, US)).status).toBe(200);
    const get = await api.call('GET', `/v1/messages/${viaEu.body.message.id}`, { key: t.key });
    expect(get.status).toBe(404);
  });

  it("relays an EU/EEA number's reply a carrier reports at the global endpoint to the EU region, which alone handles it", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Replies', residency: 'forward' });
    // Its key and sender reach the EU endpoint once the tenants table has replicated them.
    const hi = await waitFor(async () => {
      const res = await euApi.call<{ message: Message }>('POST', '/v1/messages', {
        key: t.key,
        body: { to: '+4915123450088', from: 'Acme', body: 'Hallo' },
      });
      return res.status === 401 || res.status === 422 ? undefined : res;
    }, "the tenant's key and sender replicated to the EU region");
    await deliveredMessage(euApi, t.key, hi.body.message.id);
    const token = await carrierToken(api, gateway.adminToken);
    const denied = gateway.iamDenials.length;
    const stop = {
      from: '+4915123450088',
      to: 'Acme',
      body: 'STOP',
      carrierMessageId: `relayed-${Date.now()}`,
      receivedAt: new Date().toISOString(),
    };
    const res = await api.call('POST', '/carrier/v1/inbound', { token, body: stop });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: true });
    type Reply = { from: string; action: string | null };
    const reply = await waitFor(async () => {
      const out = await euApi.call<{ data: Reply[] }>('GET', '/v1/inbound', { key: t.key });
      return out.body.data.find((r) => r.action === 'opt_out');
    }, 'the relayed STOP');
    expect(reply.from).toBe('+4915123450088');
    // The EU region opted the person out; no global role was refused on the way (none tried).
    const again = await euApi.call('POST', '/v1/messages', {
      key: t.key,
      body: { to: '+4915123450088', from: 'Acme', body: 'Noch einmal' },
    });
    expectProblem(again, 422, 'recipient-opted-out');
    expect(gateway.iamDenials.slice(denied)).toEqual([]);
    expect(await queued('global')).not.toContain('4915123450088');
  }, 60_000);

  it("refuses an EU/EEA number's one-time code at the global endpoint with 421 naming the EU endpoint", async () => {
    const res = await api.call('POST', '/public/v1/verifications', {
      body: { phone: '+4915123450099', purpose: 'block' },
    });
    expectProblem(res, 421, 'residency-misdirected');
    expect(res.body).toMatchObject({ jurisdiction: 'eu', endpoint: gateway.euUrl });
    expect((res.body.errors as { pointer: string }[])[0]!.pointer).toBe('/phone');
    // (The EU endpoint sends it: 'the public flows in the EU region' below.)
  });

  it("audits a strict tenant's unfound id at the global endpoint there without the id (it may be the EU's), and no number in any trail", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'StrictAudit', residency: 'strict' });
    // Onboarded at the global endpoint: the EU endpoint knows the key and the approved sender once
    // the tenants table has replicated them there (in AWS, typically within a second).
    const sent = await waitFor(async () => {
      const res = await euApi.call<{ message: Message }>('POST', '/v1/messages', {
        key: t.key,
        body: { to: GERMAN, from: 'Acme', body: 'hallo' },
      });
      return res.status === 401 || res.status === 422 ? undefined : res;
    }, "the tenant's key and sender replicated to the EU region");
    expect(sent.status).toBe(202);
    const id = sent.body.message.id;
    expect((await api.call('GET', `/v1/messages/${id}`, { key: t.key })).status).toBe(404);
    expect((await api.call('DELETE', `/v1/messages/${id}/body`, { key: t.key })).status).toBe(404);
    // A number in an id's place: refused with a field-level reason, and audited without it.
    const wrong = await euApi.call('GET', `/v1/messages/${encodeURIComponent(GERMAN)}`, { key: t.key });
    expectProblem(wrong, 422, 'validation-error');

    const trail = async (j: 'global' | 'eu') =>
      (await rawItems(j)).filter((i) => i.pk === `${t.tenantId}#audit` && i.sk !== 'HEAD');
    const global = await waitFor(async () => {
      const events = await trail('global');
      return events.filter((e) => e.status === 404).length === 2 ? events : undefined;
    }, 'the global trail to record the unfound reads');
    // The global region's trail keeps the calls, never the id it did not find.
    expect(global.filter((e) => e.status === 404).map((e) => [e.action, e.targets])).toEqual(
      expect.arrayContaining([
        ['getMessage', ['withheld-id']],
        ['deleteMessageBody', ['withheld-id']],
      ]),
    );
    expect(JSON.stringify(global)).not.toContain(id);
    const eu = await waitFor(async () => {
      const events = await trail('eu');
      // (A send refused with 422 while the sender was replicating is in the trail too.)
      return events.some((e) => e.status === 422 && e.action === 'getMessage') ? events : undefined;
    }, 'the EU trail to record the refused read');
    expect(eu.find((e) => e.status === 422 && e.action === 'getMessage')).toMatchObject({
      targets: ['invalid-id'],
    });
    expect(eu.filter((e) => e.status === 404)).toEqual([]);
    for (const j of ['global', 'eu'] as const) {
      const raw = JSON.stringify(await trail(j));
      for (const part of [GERMAN, GERMAN.slice(1), GERMAN.slice(-7)]) expect(raw).not.toContain(part);
    }
  }, 60_000);
});

describe("a tenant's EU lists, sender IDs and trail at the global endpoint", () => {
  const NUMBER = '+4915123450042';
  const path = (p: string) => p.replace('{phone}', encodeURIComponent(NUMBER));
  /** The tenant's items in a region's messages table, its audit trail apart. */
  const itemsOf = async (j: 'global' | 'eu', tenantId: string) =>
    (await rawItems(j)).filter((i) => i.pk === tenantId).map((i) => String(i.sk));
  /**
   * The global region kept nothing of the tenant's EU work: no item but the record of its global
   * key (which seals the webhook's secret), and the number in no table and no queue.
   */
  const expectGlobalKeptNothing = async (tenantId: string) => {
    expect(await itemsOf('global', tenantId)).toEqual(['KEYRING']);
    for (const digits of [NUMBER.slice(1), NUMBER.slice(-7)]) {
      expect(await rawTable('global')).not.toContain(digits);
      expect(await queued('global')).not.toContain(digits);
    }
  };
  const owner = async (name: string, residency: 'forward' | 'strict') => {
    const t = await onboard(api, gateway.adminToken, {
      name,
      residency,
      home: 'eu',
      scopes: ['send', 'read', 'admin'],
      senders: [],
    });
    // A key made at the global endpoint works at the EU one once the tenants table has
    // replicated it there (in AWS, typically within a second).
    await waitFor(async () => {
      const res = await euApi.call('GET', '/v1/settings/replies', { key: t.key });
      return res.status === 401 ? undefined : true;
    }, 'the new key replicated to the EU region');
    return t;
  };

  it("relays a forward tenant's EU opt-outs, consents, sender ID, replies, deliveries and audit trail to the EU region, and keeps none of it here", async () => {
    const t = await owner('ForwardLists', 'forward');
    const optOut = await api.call<{ phone: string }>('POST', '/v1/opt-outs', {
      key: t.key,
      body: { phone: NUMBER },
    });
    expect(optOut.status).toBe(201);
    expect(optOut.body.phone).toBe(NUMBER);
    const consent = await api.call<{ phone: string }>('POST', '/v1/consents', {
      key: t.key,
      body: { phone: NUMBER, source: 'signup form', disclosureVersion: 'v1' },
    });
    expect(consent.status).toBe(201);
    // They are kept in the EU region only.
    const eu = await itemsOf('eu', t.tenantId);
    expect(eu.some((sk) => sk.startsWith('OPTOUT#'))).toBe(true);
    expect(eu.some((sk) => sk.startsWith('CONSENT#'))).toBe(true);
    expect(await itemsOf('global', t.tenantId)).toEqual([]);
    // Read back through the global endpoint (relayed); its own list is the global region's.
    const ledger = await api.call<{ phone: string; live: boolean }>('GET', path('/v1/consents/{phone}'), {
      key: t.key,
    });
    expect(ledger.status).toBe(200);
    expect(ledger.body).toMatchObject({ phone: NUMBER, live: true });
    const globalList = await api.call<{ data: { phone: string }[] }>('GET', '/v1/opt-outs', { key: t.key });
    expect(globalList.status).toBe(200);
    expect(globalList.body.data).toEqual([]);
    const euList = await euApi.call<{ data: { phone: string }[] }>('GET', '/v1/opt-outs', { key: t.key });
    expect(euList.body.data.map((o) => o.phone)).toEqual([NUMBER]);
    const removed = await api.call('DELETE', path('/v1/opt-outs/{phone}'), { key: t.key });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ removed: true });

    // An EU tenant's sender ID: its identity is sealed under its EU key, by the EU region.
    const applied = await api.call<{ id: string; status: string }>('POST', '/v1/sender-ids', {
      key: t.key,
      body: { value: 'EuShop', identity: SENDER_IDENTITY },
    });
    expect(applied.status).toBe(201);
    expect(applied.body.status).toBe('pending');
    // The EU region wrote it to its replica of the tenants table; the global one lists it once
    // replicated (in AWS, typically within a second).
    const senders = await waitFor(async () => {
      const res = await api.call<{ data: { id: string }[] }>('GET', '/v1/sender-ids', { key: t.key });
      return res.body.data.length > 0 ? res.body.data : undefined;
    }, 'the sender ID replicated to the global region');
    expect(senders.map((s) => s.id)).toEqual([applied.body.id]);
    // The operator reviews its identity details at the EU endpoint: the global admin holds no EU key.
    const review = `/admin/tenants/${t.tenantId}/sender-ids/${applied.body.id}`;
    const misdirected = await api.call('GET', review, { token: gateway.adminToken });
    expectProblem(misdirected, 421, 'residency-misdirected');
    expect(misdirected.body).toMatchObject({ jurisdiction: 'eu', endpoint: gateway.euUrl });
    const reviewed = await euApi.call('GET', review, { token: gateway.adminToken });
    expect(reviewed.status).toBe(200);
    expect(reviewed.body).toMatchObject({ value: 'EuShop', identity: SENDER_IDENTITY });

    const inbound = await api.call<{ jurisdiction: string }>('GET', '/v1/inbound?jurisdiction=eu', {
      key: t.key,
    });
    expect(inbound.status).toBe(200);
    expect(inbound.body.jurisdiction).toBe('eu');
    const hook = await api.call<{ id: string }>('POST', '/v1/webhooks', {
      key: t.key,
      body: { url: 'https://hooks.example.com/sms', events: ['message.status'] },
    });
    expect(hook.status).toBe(201);
    const deliveries = await api.call<{ jurisdiction: string }>(
      'GET',
      `/v1/webhooks/${hook.body.id}/deliveries?jurisdiction=eu`,
      { key: t.key },
    );
    expect(deliveries.status).toBe(200);
    expect(deliveries.body.jurisdiction).toBe('eu');

    // The EU region audited the relayed calls; its trail reads through the global endpoint.
    const euTrail = await waitFor(async () => {
      const res = await api.call<{ jurisdiction: string; data: { action: string }[] }>(
        'GET',
        '/v1/audit-events?jurisdiction=eu&limit=100',
        { key: t.key },
      );
      expect(res.status).toBe(200);
      return res.body.data.some((e) => e.action === 'listWebhookDeliveries') ? res.body : undefined;
    }, 'the EU trail to hold the relayed calls');
    expect(euTrail.jurisdiction).toBe('eu');
    const verified = await api.call<{ jurisdiction: string; intact: boolean }>(
      'GET',
      '/v1/audit-events/verification?jurisdiction=eu',
      { key: t.key },
    );
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ jurisdiction: 'eu', intact: true });

    // The global region keeps nothing of the relayed work: no item (but the record of its global
    // key, which seals the webhook's secret), no queued record, no number.
    await expectGlobalKeptNothing(t.tenantId);
  }, 90_000);

  it("answers a strict tenant's EU opt-outs, consents, sender ID, replies, deliveries and audit trail at the global endpoint with 421 naming the EU endpoint", async () => {
    const t = await owner('StrictLists', 'strict');
    const hook = await api.call<{ id: string }>('POST', '/v1/webhooks', {
      key: t.key,
      body: { url: 'https://hooks.example.com/sms', events: ['message.status'] },
    });
    expect(hook.status).toBe(201);
    const calls: [string, string, unknown?][] = [
      ['POST', '/v1/opt-outs', { phone: NUMBER }],
      ['DELETE', path('/v1/opt-outs/{phone}')],
      ['POST', '/v1/consents', { phone: NUMBER, source: 'signup form', disclosureVersion: 'v1' }],
      ['GET', path('/v1/consents/{phone}')],
      ['POST', '/v1/sender-ids', { value: 'EuShop', identity: SENDER_IDENTITY }],
      ['GET', '/v1/inbound?jurisdiction=eu'],
      ['GET', `/v1/webhooks/${hook.body.id}/deliveries?jurisdiction=eu`],
      ['GET', '/v1/audit-events?jurisdiction=eu'],
      ['GET', '/v1/audit-events/verification?jurisdiction=eu'],
    ];
    for (const [method, url, body] of calls) {
      const res = await api.call(method, url, { key: t.key, ...(body ? { body } : {}) });
      expectProblem(res, 421, 'residency-misdirected');
      expect(res.body, `${method} ${url}`).toMatchObject({ jurisdiction: 'eu', endpoint: gateway.euUrl });
    }
    // The EU endpoint takes them.
    const viaEu = await euApi.call('POST', '/v1/opt-outs', { key: t.key, body: { phone: NUMBER } });
    expect(viaEu.status).toBe(201);
    expect((await itemsOf('eu', t.tenantId)).some((sk) => sk.startsWith('OPTOUT#'))).toBe(true);
    expect((await api.call('GET', '/v1/sender-ids', { key: t.key })).body).toEqual({ data: [] });
    // The global region kept nothing of them (the record of its global key seals the webhook's secret).
    await expectGlobalKeptNothing(t.tenantId);
  }, 90_000);

  it("reports a forward tenant's usage at the global endpoint from the EU endpoint (both regions), a strict one's from the global region only", async () => {
    const at = async (c: ReturnType<typeof client>, key: string) => {
      const res = await c.call<{ jurisdictions: string[] }>('GET', '/v1/usage', { key });
      expect(res.status).toBe(200);
      return res.body.jurisdictions;
    };
    const forward = await owner('UsageForward', 'forward');
    expect(await at(api, forward.key)).toEqual(['global', 'eu']);
    const strict = await owner('UsageStrict', 'strict');
    expect(await at(api, strict.key)).toEqual(['global']);
    expect(await at(euApi, strict.key)).toEqual(['global', 'eu']);
  });
});

describe('what the queues carry', () => {
  it('carries no number and no words of a reply (STOP included) on any queue or DLQ of either region', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Queues', residency: 'forward' });
    const token = await carrierToken(api, gateway.adminToken);
    type Reply = { from: string; body: string | null; action: string | null };
    const replies = (c: ReturnType<typeof client>) =>
      c.call<{ data: Reply[] }>('GET', '/v1/inbound', { key: t.key }).then((r) => r.body.data);
    // The sandbox handset answers "Stop please"; two people answer through the carrier webhook,
    // one of them an EU/EEA number at the global endpoint.
    const people = [
      [api, '+12025550171', 'STOP danke'],
      [euApi, '+4915123450171', 'STOP und tschuess'],
    ] as const;
    const recorded = recordQueuedMessages(gateway);
    const sent = [
      await api.call<{ message: Message }>('POST', '/v1/messages', {
        key: t.key,
        body: { to: SANDBOX_REPLYING_NUMBER, from: 'Acme', body: 'Offer {reply:Stop please now}' },
      }),
    ];
    for (const [c, to] of people) {
      sent.push(
        await c.call<{ message: Message }>('POST', '/v1/messages', {
          key: t.key,
          body: { to, from: 'Acme', body: 'Geheime Nachricht' },
        }),
      );
    }
    // Each person answers a message that reached them.
    for (const [i, [c]] of people.entries()) await deliveredMessage(c, t.key, sent[i + 1]!.body.message.id);
    for (const [i, [, from, body]] of people.entries()) {
      const res = await api.call('POST', '/carrier/v1/inbound', {
        token,
        body: {
          from,
          to: 'Acme',
          body,
          carrierMessageId: `q-${i}-${Date.now()}`,
          receivedAt: new Date().toISOString(),
        },
      });
      expect(res.status).toBe(202);
    }
    await waitFor(async () => {
      const all = [...(await replies(api)), ...(await replies(euApi))];
      const stopped = new Set(all.filter((r) => r.action === 'opt_out').map((r) => r.from));
      return [SANDBOX_REPLYING_NUMBER, ...people.map(([, from]) => from)].every((n) => stopped.has(n))
        ? all
        : undefined;
    }, 'the three STOP replies');
    recorded.stop();

    const raw = [...recorded.bodies, ...(await everyQueue(gateway))].join('\n');
    // The messages and their receipts went through the queues, by id.
    for (const s of sent) expect(raw).toContain(s.body.message.id);
    for (const text of [
      SANDBOX_REPLYING_NUMBER,
      SANDBOX_REPLYING_NUMBER.slice(1),
      'Stop please',
      'Offer',
      'Geheime',
      ...people.flatMap(([, from, body]) => [from, from.slice(1), body]),
    ]) {
      expect(raw, text).not.toContain(text);
    }
  }, 90_000);
});

describe('the public flows in the EU region', () => {
  it("keep a person's rate buckets (number and IP address) in the region that took the request", async () => {
    const buckets = async (j: 'global' | 'eu', table: string) =>
      (await rawItems(j, table)).filter((i) => /^RATE#(ip|number)#/.test(String(i.pk))).length;
    const global = async () =>
      (await buckets('global', gateway.tables.tenants)) +
      (await buckets('global', gateway.tables.messagesByJurisdiction.global));
    const [globalBefore, euBefore] = [
      await global(),
      await buckets('eu', gateway.tables.messagesByJurisdiction.eu),
    ];
    const res = await euApi.call('POST', '/public/v1/verifications', {
      body: { phone: '+4915123450077', purpose: 'block' },
    });
    expect(res.status).toBe(202);
    expect(await global()).toBe(globalBefore);
    expect(await buckets('eu', gateway.tables.messagesByJurisdiction.eu)).toBe(euBefore + 2);
  });
});

describe('data subject rights', () => {
  it('exports everything about a number in both jurisdictions, then erases every live trace of it', async () => {
    const t = await onboard(api, gateway.adminToken, {
      name: 'Rights',
      scopes: ['send', 'read', 'admin'],
      residency: 'forward',
    });
    const other = await onboard(api, gateway.adminToken, { name: 'Other', residency: 'forward' });
    const sent: string[] = [];
    for (const [i, key] of [t.key, t.key, other.key].entries()) {
      const res = await api.call<{ message: Message }>('POST', '/v1/messages', {
        key,
        body: { to: GERMAN, from: 'Acme', body: `Nachricht ${i}` },
        headers: { 'idempotency-key': `rights-${i}` },
      });
      expect(res.status).toBe(202);
      sent.push(res.body.message.id);
    }
    await api.call('POST', '/v1/messages', { key: t.key, body: { to: US, from: 'Acme', body: 'US' } });

    const exported = await api.call<{
      jurisdictions: { global: { messages: Message[] }; eu: { messages: Message[] } };
    }>('GET', `/v1/subjects/${encodeURIComponent(GERMAN)}/export`, { key: t.key });
    expect(exported.status).toBe(200);
    expect(exported.body.jurisdictions.global.messages).toEqual([]);
    expect(exported.body.jurisdictions.eu.messages.map((m) => [m.id, m.body])).toEqual([
      [sent[0], 'Nachricht 0'],
      [sent[1], 'Nachricht 1'],
    ]);

    const floodCounters = async () =>
      (await rawItems('eu')).filter((i) => i.pk === t.tenantId && String(i.sk).startsWith('FLOOD#'));
    expect(await floodCounters()).not.toEqual([]);

    const readOnly = await onboard(api, gateway.adminToken, { name: 'RO', scopes: ['read'] });
    expectProblem(
      await api.call('DELETE', `/v1/subjects/${encodeURIComponent(GERMAN)}?reason=request`, {
        key: readOnly.key,
      }),
      403,
      'forbidden',
    );
    const erased = await api.call<{
      removed: { messages: number; idempotencyRecords: number };
      remains: { what: string; until: string }[];
    }>('DELETE', `/v1/subjects/${encodeURIComponent(GERMAN)}?reason=minor`, { key: t.key });
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ reason: 'minor', removed: { messages: 2, idempotencyRecords: 2 } });
    expect(erased.body.remains.map((r) => r.what)).toEqual([
      'point-in-time recovery backups of the tables',
      'this erasure record (reason, time and counts, without the number)',
      'audit trail entries of the calls that sent or read these messages (their ids; no number, no content): a hash chain cannot drop entries',
    ]);

    // Nothing about the number remains for this tenant, in any region (its flood counters
    // included); the other tenant keeps its own. The audit trail keeps the calls' message ids
    // (said above) and nothing of the number.
    expect(await floodCounters()).toEqual([]);
    const eu = await rawTable('eu', { withoutAudit: true });
    expect(eu).not.toContain(sent[0]);
    expect(eu).not.toContain(sent[1]);
    expect(eu).toContain(sent[2]);
    expect(await rawTable('global')).not.toContain(sent[0]);
    const euAudit = await rawTable('eu');
    expect(euAudit).toContain(sent[0]);
    for (const part of [GERMAN, GERMAN.slice(1), GERMAN.slice(-7), 'Nachricht'])
      expect(euAudit).not.toContain(part);
    const again = await api.call<{ jurisdictions: { eu: { messages: Message[] } } }>(
      'GET',
      `/v1/subjects/${encodeURIComponent(GERMAN)}/export`,
      { key: t.key },
    );
    expect(again.body.jurisdictions.eu.messages).toEqual([]);
    // A replay of an erased request's key no longer returns the number.
    const replay = await api.call<{ message: Message }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: GERMAN, from: 'Acme', body: 'Nachricht 0' },
      headers: { 'idempotency-key': 'rights-0' },
    });
    expect(replay.headers.get('idempotent-replayed')).toBeNull();
  });

  it('answers a message whose stored content does not open with a clear problem; lists and exports carry on and mark it', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Damaged' });
    const source = await onboard(api, gateway.adminToken, { name: 'Source' });
    const send = async (key: string, body: string) => {
      const res = await api.call<{ message: Message }>('POST', '/v1/messages', {
        key,
        body: { to: US, from: 'Acme', body },
      });
      expect(res.status).toBe(202);
      await deliveredMessage(api, key, res.body.message.id);
      return res.body.message.id;
    };
    const ids: string[] = [];
    for (const i of [0, 1, 2, 3]) ids.push(await send(t.key, `Lieferung ${i} ist unterwegs`));
    const foreign = await send(source.key, 'Fremde Nachricht, nicht deine');
    const [ok, damaged, copied, bodyDamaged] = ids as [string, string, string, string];

    // What a damaged disk, a bad restore or a copy across tenants would leave in the table.
    const { dynamodb } = localClients(gateway.regions.global);
    const TableName = gateway.tables.messagesByJurisdiction.global;
    const itemOf = async (pk: string, sk: string) =>
      unmarshall(
        (
          await dynamodb.send(
            new GetItemCommand({ TableName, Key: marshall({ pk, sk }), ConsistentRead: true }),
          )
        ).Item!,
      );
    const put = async (item: Record<string, unknown>) =>
      dynamodb.send(new PutItemCommand({ TableName, Item: marshall(item) }));
    for (const sk of [`MSG#${damaged}`, `BODY#${bodyDamaged}`]) {
      const item = await itemOf(t.tenantId, sk);
      const sealed = Buffer.from(item.sealed as Uint8Array);
      sealed[sealed.length - 1]! ^= 1;
      await put({ ...item, sealed });
    }
    const theirs = await itemOf(source.tenantId, `MSG#${foreign}`);
    await put({ ...(await itemOf(t.tenantId, `MSG#${copied}`)), dk: theirs.dk, sealed: theirs.sealed });

    // The item's own read: a clear problem that says what happened and what to do.
    expect((await api.call<Message>('GET', `/v1/messages/${ok}`, { key: t.key })).body.to).toBe(US);
    for (const id of [damaged, copied, bodyDamaged]) {
      const res = await api.call('GET', `/v1/messages/${id}`, { key: t.key });
      expectProblem(res, 410, 'message-unreadable');
      expect(res.body.detail).toContain(id);
    }
    // The list and the export carry on, the unreadable ones marked, with nothing sealed.
    const marked = (m: Message) => (m.unreadable === true ? ['unreadable', m.to, m.body] : [m.body]);
    const list = await api.call<{ data: Message[] }>('GET', '/v1/messages', { key: t.key });
    expect(list.status).toBe(200);
    expect(list.body.data.map((m) => [m.id, ...marked(m)])).toEqual([
      [bodyDamaged, 'unreadable', undefined, undefined],
      [copied, 'unreadable', undefined, undefined],
      [damaged, 'unreadable', undefined, undefined],
      [ok, 'Lieferung 0 ist unterwegs'],
    ]);
    expect(JSON.stringify(list.body)).not.toContain('Fremde Nachricht');
    const exported = await api.call<{ jurisdictions: { global: { messages: Message[] } } }>(
      'GET',
      `/v1/subjects/${encodeURIComponent(US)}/export`,
      { key: t.key },
    );
    expect(exported.status).toBe(200);
    expect(exported.body.jurisdictions.global.messages.map((m) => [m.id, ...marked(m)])).toEqual([
      [ok, 'Lieferung 0 ist unterwegs'],
      [damaged, 'unreadable', undefined, undefined],
      [copied, 'unreadable', undefined, undefined],
      [bodyDamaged, 'unreadable', undefined, undefined],
    ]);
    // Its body can still be removed; the other tenant still reads its own message.
    const redacted = await api.call<Message>('DELETE', `/v1/messages/${damaged}/body`, { key: t.key });
    expect(redacted.status).toBe(200);
    expect(redacted.body).toMatchObject({ id: damaged, unreadable: true });
    expect((await api.call<Message>('GET', `/v1/messages/${foreign}`, { key: source.key })).body.body).toBe(
      'Fremde Nachricht, nicht deine',
    );
  }, 90_000);

  it('refuses a malformed number with a field-level reason', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Bad' });
    const res = await api.call('GET', '/v1/subjects/12345/export', { key: t.key });
    expectProblem(res, 422, 'validation-error');
    expect((res.body.errors as { parameter: string }[])[0]!.parameter).toBe('phone');
  });

  it("removes one message's body on request", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Redact' });
    const res = await api.call<{ message: Message }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: US, from: 'Acme', body: 'secret' },
    });
    await deliveredMessage(api, t.key, res.body.message.id);
    const redacted = await api.call<Message>('DELETE', `/v1/messages/${res.body.message.id}/body`, {
      key: t.key,
    });
    expect(redacted.status).toBe(200);
    expect(redacted.body).toMatchObject({ status: 'delivered', body: null });
    expect(
      (await api.call<Message>('GET', `/v1/messages/${res.body.message.id}`, { key: t.key })).body.body,
    ).toBeNull();
  });

  it("lets an operator change a tenant's policy, which new messages follow", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Changing', residency: 'forward' });
    const bad = await api.call('PUT', `/admin/tenants/${t.tenantId}/policy`, {
      token: gateway.adminToken,
      body: { retention: { bodyDays: 120, metadataDays: 30 } },
    });
    expectProblem(bad, 422, 'validation-error');
    const changed = await api.call<{ residency: string; retention: { bodyDays: number } }>(
      'PUT',
      `/admin/tenants/${t.tenantId}/policy`,
      { token: gateway.adminToken, body: { residency: 'strict', retention: { bodyDays: 0 } } },
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ residency: 'strict', retention: { bodyDays: 0, metadataDays: 90 } });
    // The authorizer cache (1 s here, 60 s by default) carries the old policy until it expires.
    await waitFor(async () => {
      const res = await api.call('POST', '/v1/messages', {
        key: t.key,
        body: { to: GERMAN, from: 'Acme', body: 'x' },
      });
      return res.status === 421 ? res : undefined;
    }, 'the strict policy to apply');
  });

  it('drops the body at once when the final status arrives, for a tenant that keeps no bodies', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'NoBodies', retention: { bodyDays: 0 } });
    const res = await api.call<{ message: Message }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: US, from: 'Acme', body: 'gone soon' },
    });
    expect(res.body.message.body).toBe('gone soon');
    const done = await deliveredMessage<Message>(api, t.key, res.body.message.id);
    expect(done.body).toBeNull();
  });
});

describe('digests and bodies at rest', () => {
  /** Every item of every table of this gateway in both regions, but the sandbox carrier's ledger (the handsets). */
  async function everyItem() {
    const items: Record<string, unknown>[] = [];
    for (const j of ['global', 'eu'] as const) {
      const { dynamodb } = localClients(gateway.regions[j]);
      const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
      const tables = TableNames.filter((n) => n.startsWith(prefix) && n !== gateway.tables.sandboxLedger);
      expect(tables.length).toBeGreaterThan(0);
      for (const TableName of tables) {
        let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
        do {
          const out = await dynamodb.send(new ScanCommand({ TableName, ExclusiveStartKey: start }));
          items.push(...(out.Items ?? []).map((i) => unmarshall(i)));
          start = out.LastEvaluatedKey;
        } while (start);
      }
    }
    return items;
  }

  /** The SHA-256 of a text as it could be stored: hex, its 16-hex prefix, base64 and base64url. */
  function shaForms(text: string) {
    const d = createHash('sha256').update(text).digest();
    const hex = d.toString('hex');
    return [
      hex,
      hex.slice(0, 16),
      d.toString('base64'),
      d.toString('base64').replace(/=+$/, ''),
      d.toString('base64url'),
    ];
  }

  it('keeps no unkeyed digest of a body, a number, or a request (number, sender and body) anywhere', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Codes' });
    const code = () => String(randomInt(1_000_000)).padStart(6, '0');
    const sent: { to: string; from: string; body: string }[] = [];
    const ids: [ReturnType<typeof client>, string][] = [];
    for (const [c, to] of [
      [api, '+12025550140'],
      [euApi, GERMAN],
    ] as const) {
      const body = { to, from: 'Acme', body: code() };
      const res = await c.call<{ message: Message }>('POST', '/v1/messages', {
        key: t.key,
        body,
        headers: { 'idempotency-key': `code-${to}` },
      });
      expect(res.status).toBe(202);
      sent.push(body);
      ids.push([c, res.body.message.id]);
    }
    const batch = [
      { to: '+12025550141', from: 'Acme', body: code() },
      { to: '+12025550142', from: 'Globex', body: code() },
    ];
    const res = await api.call<{ results: { message: Message }[] }>('POST', '/v1/messages/batch', {
      key: t.key,
      body: { messages: batch },
      headers: { 'idempotency-key': 'code-batch' },
    });
    expect(res.status).toBe(200);
    sent.push(...batch);
    for (const r of res.body.results) ids.push([api, r.message.id]);
    // A one-time code of the gateway's own: its verification is kept until it is confirmed.
    const started = await api.call<{ verificationId: string }>('POST', '/public/v1/verifications', {
      body: { phone: '+12025550143', purpose: 'block' },
    });
    expect(started.status).toBe(202);
    const verificationId = started.body.verificationId;
    const ledger = await waitFor(async () => {
      const out = await localClients().dynamodb.send(
        new GetItemCommand({
          TableName: gateway.tables.sandboxLedger,
          Key: marshall({ pk: `SANDBOX#sys_${verificationId.slice(4)}`, sk: 'SEND' }),
        }),
      );
      return out.Item ? unmarshall(out.Item) : undefined;
    }, 'the one-time code');
    const otp = /\d{6}/.exec(String(ledger.body))![0];
    // Delivered: the worker's and the receipt's writes (status, usage) are in the tables too.
    for (const [c, id] of ids) await deliveredMessage(c, t.key, id);

    const texts: string[] = [otp, `${verificationId}\0${otp}`, '+12025550143', '12025550143'];
    for (const m of sent) {
      texts.push(m.body, m.to, m.to.slice(1), m.from, JSON.stringify(m), `send\0${JSON.stringify(m)}`);
      for (const [a, b, c] of [
        [m.to, m.from, m.body],
        [m.to, m.body, m.from],
        [m.from, m.to, m.body],
        [m.body, m.to, m.from],
      ]) {
        for (const sep of ['', '\0', '|', ':', '#', '\n', ' ', ','])
          texts.push([a, b, c].join(sep), `${a}${sep}${c}`);
      }
    }
    const items = batch.map((input) => ({ ok: true, input }));
    texts.push(JSON.stringify(batch), `batch\0${JSON.stringify(items)}`, `batch\0${JSON.stringify(batch)}`);
    const candidates = texts.flatMap((text) => shaForms(text).map((form) => ({ text, form })));

    // Binary attributes as hex and base64, so a digest kept as bytes is found too.
    const dump = JSON.stringify(await everyItem(), (_k, v) =>
      v instanceof Uint8Array ? `${Buffer.from(v).toString('hex')} ${Buffer.from(v).toString('base64')}` : v,
    );
    expect(dump).toContain(t.tenantId);
    const found = candidates.filter(({ form }) => dump.includes(form));
    expect(found.map(({ text, form }) => `sha256(${JSON.stringify(text)}) as ${form}`)).toEqual([]);
  }, 120_000);

  it('keeps no body in an Idempotency-Key record of a tenant that keeps none, and still replays it byte for byte', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'NoBodyKeys', retention: { bodyDays: 0 } });
    const text = `Ihr Code ${randomInt(1_000_000)} bleibt geheim`;
    const send = () =>
      api.call<{ message: Message }>('POST', '/v1/messages', {
        key: t.key,
        body: { to: US, from: 'Acme', body: text },
        headers: { 'idempotency-key': 'no-body-1' },
      });
    const first = await send();
    expect(first.status).toBe(202);
    expect(first.body.message.body).toBe(text);

    const table = gateway.tables.messagesByJurisdiction.global;
    const records = (await rawItems('global', table)).filter(
      (i) => i.pk === t.tenantId && String(i.sk).startsWith('IDEM#'),
    );
    expect(records).toHaveLength(1);
    const record = records[0]!;
    expect(
      JSON.stringify(record, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v)),
    ).not.toContain('geheim');
    expect(Object.keys(record).filter((k) => /body/i.test(k))).toEqual([]);
    // Nor sealed: the record's sealed result, opened with the tenant's key, holds no body.
    const { crypto } = localCrypto(table, { region: gateway.regions.global, jurisdiction: 'global' });
    const opened = await crypto.open(t.tenantId, 'idempotency', String(record.sk), {
      dataKey: record.dk as Uint8Array,
      blob: record.result as Uint8Array,
    });
    expect(gunzipSync(opened).toString('utf8')).not.toContain('geheim');

    // After the message's body is gone, the replay still answers as the first answer did.
    expect((await deliveredMessage<Message>(api, t.key, first.body.message.id)).body).toBeNull();
    const replay = await send();
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(JSON.stringify(replay.body)).toBe(JSON.stringify(first.body));
  });
});

describe('account closure', () => {
  it('revokes the keys, schedules the KMS keys for deletion, removes the items and states each date', async () => {
    // A live key (onboard's default): only live traffic reaches the gateway-wide analytics cells.
    const t = await onboard(api, gateway.adminToken, { name: 'Leaving', residency: 'forward' });
    // Countries no other test of this file sends to: the tenant is the first of its analytics cells,
    // which is when a cell names it (the anonymity threshold keeps the first tenant, and a flag).
    const CANADA = '+14164441234';
    const AUSTRIA = '+436641234567';
    for (const to of [CANADA, AUSTRIA]) {
      // The Austrian number's send is relayed to the EU region, which knows the key and the approved
      // sender once the tenants table has replicated them (401 or 422 until then).
      const res = await waitFor(async () => {
        const sent = await api.call<{ message: Message }>('POST', '/v1/messages', {
          key: t.key,
          body: { to, from: 'Acme', body: 'bye' },
        });
        return sent.status === 401 || sent.status === 422 ? undefined : sent;
      }, "the tenant's key and sender replicated to the EU region");
      expect(res.status).toBe(202);
      expect(res.body.message.jurisdiction).toBe(to === CANADA ? 'global' : 'eu');
      await deliveredMessage(to === CANADA ? api : euApi, t.key, res.body.message.id);
    }
    // Each region's analytics cells count the tenant's messages (sent, then delivered) and, for
    // the anonymity threshold, hold its id: what the closure must take out.
    for (const j of ['global', 'eu'] as const) {
      await waitFor(async () => {
        const cells = (await rawItems(j)).filter((i) => String(i.pk).startsWith('usage#'));
        const holds = (status: string) => cells.some((i) => i[`${status}_t1`] === t.tenantId);
        return holds('sent') && holds('delivered') ? true : undefined;
      }, `the ${j} analytics cells to count the tenant's sent and delivered messages`);
    }
    const wrong = await api.call('POST', `/admin/tenants/${t.tenantId}/close`, {
      token: gateway.adminToken,
      body: { confirm: 'ten_OTHER' },
    });
    expectProblem(wrong, 422, 'validation-error');
    expect(wrong.body.errors).toEqual([
      { pointer: '/confirm', detail: expect.stringContaining('tenant id') },
    ]);
    type Closed = {
      jurisdictions: { jurisdiction: string; keyDeletionDate: string | null; itemsRemoved: number }[];
      closeAlsoAt: { jurisdiction: string; endpoint: string | null }[];
      recordsKept: { until: string };
    };
    // Each region's admin endpoint closes its own jurisdiction and names the other's.
    const closeAt = async (
      c: ReturnType<typeof client>,
      own: string,
      other: { jurisdiction: string; endpoint: string },
    ) => {
      const res = await c.call<Closed>('POST', `/admin/tenants/${t.tenantId}/close`, {
        token: gateway.adminToken,
        body: { confirm: t.tenantId },
      });
      expect(res.status).toBe(200);
      expect(res.body.jurisdictions.map((j) => j.jurisdiction)).toEqual([own]);
      expect(res.body.closeAlsoAt).toEqual([other]);
      return res.body;
    };
    const closed = await closeAt(api, 'global', { jurisdiction: 'eu', endpoint: gateway.euUrl });
    expect((await rawItems('eu')).filter((i) => i.pk === t.tenantId).length).toBeGreaterThan(1);
    const closedEu = await closeAt(euApi, 'eu', { jurisdiction: 'global', endpoint: gateway.url });
    for (const j of [...closed.jurisdictions, ...closedEu.jurisdictions]) {
      expect(j.keyDeletionDate).not.toBeNull();
    }
    expect(new Date(closed.recordsKept.until).getTime()).toBeGreaterThan(Date.now() + 9 * 365 * 86_400_000);
    await waitFor(async () => {
      const res = await api.call('GET', '/v1/messages', { key: t.key });
      return res.status === 401 ? res : undefined;
    }, 'the closed tenant key to stop working');
    const tenant = await api.call<{ status: string }>('GET', `/admin/tenants/${t.tenantId}`, {
      token: gateway.adminToken,
    });
    expect(tenant.body.status).toBe('closed');
    for (const j of ['global', 'eu'] as const) {
      const left = (await rawItems(j)).filter((i) => i.pk === t.tenantId).map((i) => i.sk);
      expect(left).toEqual(['KEYRING']);
      // Nor its id in the gateway-wide analytics cells (their anonymous counts stay).
      expect(await analyticsCellsNaming(j, t.tenantId)).toEqual([]);
    }
  }, 120_000);

  it('leaves no item of the tenant in any table of either region but its record, billing totals, audit trail and keyrings', async () => {
    const t = await onboard(api, gateway.adminToken, {
      name: 'Gone',
      senders: ['Gone'],
      residency: 'forward',
    });
    const owner = (await issueOwnerKey(api, gateway.adminToken, t.tenantId)).secret;
    // Every kind of item a tenant leaves: messages and bodies in both regions, an Idempotency-Key,
    // an opt-out, a consent, a webhook endpoint and its deliveries, sender IDs with identity
    // details, API keys and their look-ups, the rate bucket and the monthly counter.
    const hook = await api.call<{ id: string }>('POST', '/v1/webhooks', {
      key: owner,
      body: { url: 'https://hooks.example.com/gone', events: ['message.status'] },
    });
    expect(hook.status).toBe(201);
    for (const [i, to] of [US, GERMAN].entries()) {
      const res = await api.call('POST', '/v1/messages', {
        key: t.key,
        headers: { 'Idempotency-Key': `gone-${i}` },
        body: { to, from: 'Gone', body: 'bye' },
      });
      expect(res.status).toBe(202);
    }
    expect(
      (await api.call('POST', '/v1/opt-outs', { key: t.key, body: { phone: '+12025550142' } })).status,
    ).toBe(201);
    const consent = await api.call('POST', '/v1/consents', {
      key: t.key,
      body: { phone: '+12025550143', source: 'web form', disclosureVersion: 'v1', ip: '198.51.100.7' },
    });
    expect(consent.status).toBe(201);
    await waitFor(async () => {
      const res = await api.call<{ data: unknown[] }>('GET', `/v1/webhooks/${hook.body.id}/deliveries`, {
        key: owner,
      });
      return res.body.data?.length ? res : undefined;
    }, 'a webhook delivery attempt on record');

    // Closed at each region's admin endpoint, as the admin CLI does.
    for (const endpoint of [api, euApi]) {
      const closed = await endpoint.call<{ tenantItemsRemoved: number }>(
        'POST',
        `/admin/tenants/${t.tenantId}/close`,
        { token: gateway.adminToken, body: { confirm: t.tenantId } },
      );
      expect(closed.status).toBe(200);
      if (endpoint === api) expect(closed.body.tenantItemsRemoved).toBeGreaterThan(0);
    }

    const kept = (i: Record<string, unknown>) =>
      (i.pk === t.tenantId && (i.sk === 'PROFILE' || i.sk === 'KEYRING')) ||
      i.pk === `${t.tenantId}#usage` ||
      i.pk === `${t.tenantId}#audit`;
    const tables = [
      ['global', gateway.tables.tenants],
      ['global', gateway.tables.messagesByJurisdiction.global],
      ['eu', gateway.tables.messagesByJurisdiction.eu],
    ] as const;
    const leftover = async () => {
      const left: string[] = [];
      for (const [j, table] of tables) {
        for (const item of await rawItems(j, table)) {
          const raw = JSON.stringify(item, (_k, v) =>
            v instanceof Uint8Array ? '' : v instanceof Set ? [...v] : v,
          );
          if (raw.includes(t.tenantId) && !kept(item)) left.push(`${j} ${table}: ${item.pk} ${item.sk}`);
        }
      }
      return left;
    };
    // What the EU region's sweep removed from the tenants table reaches the global replica with
    // the replication lag (typically under a second).
    const left = await waitFor(
      async () => ((await leftover()).length === 0 ? [] : undefined),
      "the EU sweep's deletions replicated",
      15_000,
    ).catch(leftover);
    expect(left).toEqual([]);
    // The tenant's record and keyrings remain (billing totals and the audit trail are checked elsewhere).
    expect(
      (await rawItems('global', gateway.tables.tenants)).filter((i) => i.pk === t.tenantId),
    ).toHaveLength(1);
    // The operator can still read the closed account, but no longer change it or give it a key.
    const admin = (method: string, path: string, body?: object) =>
      api.call(method, `/admin/tenants/${t.tenantId}${path}`, { token: gateway.adminToken, body });
    expect((await admin('GET', '')).body).toMatchObject({ status: 'closed' });
    for (const [method, path, body] of [
      ['PUT', '/controls', { monthlySegmentCap: 10 }],
      ['PUT', '/policy', { residency: 'forward' }],
      ['POST', '/keys', { name: 'after', scopes: ['send'] }],
    ] as const) {
      const refused = await admin(method, path, body);
      expectProblem(refused, 409, 'tenant-closed');
      expect((refused.body as { detail: string }).detail).toContain(t.tenantId);
    }
    expect(
      (await rawItems('global', gateway.tables.tenants)).filter((i) => i.pk === t.tenantId),
    ).toHaveLength(1);
  }, 90_000);
});
