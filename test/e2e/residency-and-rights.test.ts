import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../infra/local/gateway.ts';
import { localClients, uniqueName } from '../support/aws.ts';
import { client, expectProblem, onboard, waitFor } from '../support/http.ts';

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

const GERMAN = '+4915123456789';
const US = '+12025550100';

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    services: { kind: 'external', ...services },
    prefix: uniqueName('res'),
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
  const out = await dynamodb.send(new ScanCommand({ TableName: table }));
  return (out.Items ?? []).map((i) => unmarshall(i));
}

/** Every item of a region's messages table, as stored (bytes as latin1 text), audit trail included unless said. */
async function rawTable(jurisdiction: 'global' | 'eu', options: { withoutAudit?: boolean } = {}) {
  const items = (await rawItems(jurisdiction)).filter(
    (i) => !(options.withoutAudit && String(i.pk).endsWith('#audit')),
  );
  return JSON.stringify(items, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
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

const finalOf = (c: ReturnType<typeof client>, key: string, id: string) =>
  waitFor(async () => {
    const res = await c.call<Message>('GET', `/v1/messages/${id}`, { key });
    return res.body.status === 'delivered' ? res.body : undefined;
  }, `message ${id} delivered`);

describe('EU residency across the two local regions', () => {
  it("keeps a German recipient's message in the EU region only, even when the global endpoint takes it", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Forward' });
    const res = await api.call<{ message: Message }>('POST', '/v1/messages', {
      key: t.key,
      body: { to: GERMAN, from: 'Acme', body: 'Ihr Code ist 4711' },
      headers: { 'idempotency-key': 'de-1' },
    });
    expect(res.status).toBe(202);
    expect(res.body.message.jurisdiction).toBe('eu');
    const id = res.body.message.id;
    await finalOf(euApi, t.key, id);

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

  it('refuses an Idempotency-Key reused with a recipient in the other jurisdiction (422), at either endpoint', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Keys' });
    const send = (c: ReturnType<typeof client>, to: string) =>
      c.call<{ message: Message }>('POST', '/v1/messages', {
        key: t.key,
        body: { to, from: 'Acme', body: 'Your order has shipped' },
        headers: { 'idempotency-key': 'both-1' },
      });
    const first = await send(api, US);
    expect(first.status).toBe(202);
    expectProblem(await send(api, GERMAN), 422, 'idempotency-key-reused');
    expectProblem(await send(euApi, GERMAN), 422, 'idempotency-key-reused');
    // The same request again is the original answer.
    expect((await send(api, US)).body.message.id).toBe(first.body.message.id);
  });

  it('answers 421 with the EU endpoint when a strict tenant sends an EU subject to the global endpoint', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Strict', residency: 'strict' });
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
    const get = await api.call('GET', `/v1/messages/${viaEu.body.message.id}`, { key: t.key });
    expect(get.status).toBe(404);
  });
});

describe('data subject rights', () => {
  it('exports everything about a number in both jurisdictions, then erases every live trace of it', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Rights', scopes: ['send', 'read', 'admin'] });
    const other = await onboard(api, gateway.adminToken, { name: 'Other' });
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

    // Nothing about the number remains for this tenant, in any region; the other tenant keeps its
    // own. The audit trail keeps the calls' message ids (said above) and nothing of the number.
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
    await finalOf(api, t.key, res.body.message.id);
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
    const t = await onboard(api, gateway.adminToken, { name: 'Changing' });
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
    const done = await finalOf(api, t.key, res.body.message.id);
    expect(done.body).toBeNull();
  });
});

describe('account closure', () => {
  it('revokes the keys, schedules the KMS keys for deletion, removes the items and states each date', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Leaving' });
    for (const to of [US, GERMAN]) {
      const res = await api.call('POST', '/v1/messages', {
        key: t.key,
        body: { to, from: 'Acme', body: 'bye' },
      });
      expect(res.status).toBe(202);
    }
    const wrong = await api.call('POST', `/admin/tenants/${t.tenantId}/close`, {
      token: gateway.adminToken,
      body: { confirm: 'ten_OTHER' },
    });
    expectProblem(wrong, 422, 'validation-error');
    expect(wrong.body.errors).toEqual([
      { pointer: '/confirm', detail: expect.stringContaining('tenant id') },
    ]);
    const closed = await api.call<{
      jurisdictions: { jurisdiction: string; keyDeletionDate: string | null; itemsRemoved: number }[];
      recordsKept: { until: string };
    }>('POST', `/admin/tenants/${t.tenantId}/close`, {
      token: gateway.adminToken,
      body: { confirm: t.tenantId },
    });
    expect(closed.status).toBe(200);
    expect(closed.body.jurisdictions.map((j) => j.jurisdiction)).toEqual(['global', 'eu']);
    for (const j of closed.body.jurisdictions) expect(j.keyDeletionDate).not.toBeNull();
    expect(new Date(closed.body.recordsKept.until).getTime()).toBeGreaterThan(
      Date.now() + 9 * 365 * 86_400_000,
    );
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
    }
  });
});
