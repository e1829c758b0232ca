import { createHash } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { localClients } from '../support/aws.ts';
import { client, expectProblem, issueOwnerKey, onboard, waitFor } from '../support/http.ts';
import { NO_CACHES, startTestGateway } from '../support/local-gateway.ts';

type AuditEvent = {
  seq: number;
  action: string;
  actor: { type: string; keyId?: string; principal?: string };
  targets: string[];
  ip: string;
  userAgent: string;
  outcome: string;
  status: number;
  hash: string;
  prevHash: string;
};
type AuditList = { data: AuditEvent[]; nextCursor: string | null };

const { dynamodb } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  gateway = await startTestGateway('ops', {
    ...NO_CACHES,
  });
  api = client(gateway.url);
});

afterAll(async () => {
  await gateway?.stop();
});

const ownerKey = (tenantId: string) => issueOwnerKey(api, gateway.adminToken, tenantId);

const UA = { 'user-agent': 'acme-backend/2.1' };

describe('the audit trail', () => {
  it('records every call made with a key, refused ones too, and every operator action, hash-chained', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Audited', senders: ['Audited'] });
    const owner = await ownerKey(t.tenantId);
    const sent = await api.call<{ message: { id: string } }>('POST', '/v1/messages', {
      key: t.key,
      headers: UA,
      body: { to: '+12025550123', from: 'Audited', body: 'Your parcel is on its way' },
    });
    expect(sent.status).toBe(202);
    // Reading the trail needs the admin scope: the refusal is itself audited.
    expectProblem(await api.call('GET', '/v1/audit-events', { key: t.key, headers: UA }), 403, 'forbidden');
    expect((await api.call('GET', '/v1/consents/+12025550123', { key: t.key })).status).toBe(200);
    // A bad key names no tenant: counted (AuthFailures), not in anyone's trail.
    expect((await api.call('GET', '/v1/messages', { key: 'sk_live_nope' })).status).toBe(401);

    const trail = await waitFor(async () => {
      const res = await api.call<AuditList>('GET', '/v1/audit-events?limit=100', { key: owner.secret });
      expect(res.status).toBe(200);
      return res.body.data.some((e) => e.action === 'getConsentLedger') ? res.body.data : undefined;
    }, 'the audit entries');

    const send = trail.find((e) => e.action === 'sendMessage')!;
    expect(send).toMatchObject({
      actor: { type: 'api_key', keyId: t.keyId },
      targets: [sent.body.message.id],
      outcome: 'success',
      status: 202,
      userAgent: 'acme-backend/2.1',
      route: 'POST /v1/messages',
    });
    expect(send.ip).toMatch(/127\.0\.0\.1/);
    expect(trail.find((e) => e.action === 'listAuditEvents' && e.outcome === 'failure')).toMatchObject({
      actor: { keyId: t.keyId },
      status: 403,
    });
    // A number in the path is not kept, not even in part.
    expect(trail.find((e) => e.action === 'getConsentLedger')!.targets).toEqual([]);
    expect(JSON.stringify(trail)).not.toMatch(/\+1202|5550123/);
    // The operator's onboarding joined the same trail, under the operator's principal.
    const created = trail.find((e) => e.action === 'createTenant')!;
    expect(created).toMatchObject({
      actor: { type: 'operator', principal: 'arn:aws:iam::000000000000:user/local-admin' },
      status: 201,
    });
    // onboard's send key and owner key (for the sender ID), and this test's owner key
    expect(trail.filter((e) => e.action === 'issueApiKey')).toHaveLength(3);
    // Never a key: not the secret, not in any field.
    expect(JSON.stringify(trail)).not.toContain(t.key);
    expect(JSON.stringify(trail)).not.toContain(owner.secret);
    // Anyone holding an export can recompute a hash as the README says, without our code.
    const sortedJson = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(sortedJson).join(',')}]`
        : v && typeof v === 'object'
          ? `{${Object.keys(v)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`)
              .join(',')}}`
          : JSON.stringify(v);
    const { hash, ...unsigned } = send;
    expect(
      createHash('sha256')
        .update(`${send.prevHash}\n${sortedJson(unsigned)}`)
        .digest('hex'),
    ).toBe(hash);
    // Newest first, one chain with no gaps.
    const seqs = trail.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(seqs.at(-1)).toBe(1);
    for (let i = 0; i < trail.length - 1; i++) expect(trail[i]!.prevHash).toBe(trail[i + 1]!.hash);

    // Filters, and an export.
    const failures = await api.call<AuditList>('GET', '/v1/audit-events?outcome=failure', {
      key: owner.secret,
    });
    expect(failures.body.data.map((e) => e.action)).toEqual(['listAuditEvents']);
    // The owner's own listings join the trail about a second after they are answered.
    const byKey = await waitFor(async () => {
      const res = await api.call<AuditList>(
        'GET',
        `/v1/audit-events?keyId=${owner.id}&action=listAuditEvents`,
        { key: owner.secret },
      );
      return res.body.data.length > 0 ? res : undefined;
    }, "the owner's listings");
    expect(byKey.body.data.every((e) => e.actor.keyId === owner.id && e.action === 'listAuditEvents')).toBe(
      true,
    );
    const page = await api.call<AuditList>('GET', '/v1/audit-events?limit=2', { key: owner.secret });
    expect(page.body.data).toHaveLength(2);
    const next = await api.call<AuditList>('GET', `/v1/audit-events?limit=2&cursor=${page.body.nextCursor}`, {
      key: owner.secret,
    });
    expect(next.body.data[0]!.seq).toBe(page.body.data[1]!.seq - 1);
    const csv = await api.call<string>('GET', '/v1/audit-events?format=csv&action=sendMessage', {
      key: owner.secret,
    });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe(
      'seq,id,tenantId,at,actor,action,route,targets,ip,userAgent,outcome,status,requestId,jurisdiction,prevHash,hash',
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"{""type"":""api_key"",""keyId"":""${t.keyId}""}",sendMessage`);
    expectProblem(
      await api.call('GET', '/v1/audit-events?outcome=maybe', { key: owner.secret }),
      422,
      'validation-error',
    );

    // The operator reads the same trail.
    const asOperator = await api.call<AuditList>(
      'GET',
      `/admin/audit-events?tenantId=${t.tenantId}&action=sendMessage`,
      {
        token: gateway.adminToken,
      },
    );
    expect(asOperator.body.data.map((e) => e.seq)).toEqual([send.seq]);
  });

  it('shows a tampered event when the chain is verified', async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Tampered', senders: [] });
    const owner = await ownerKey(t.tenantId);
    for (let i = 0; i < 3; i++) await api.call('GET', '/v1/messages', { key: t.key });
    const verified = await waitFor(async () => {
      const res = await api.call<{ intact: boolean; checked: number; headSeq: number }>(
        'GET',
        '/v1/audit-events/verification',
        { key: owner.secret },
      );
      // createTenant, two keys, three reads
      return res.body.checked >= 6 ? res.body : undefined;
    }, 'six chained events');
    expect(verified).toMatchObject({ intact: true, firstSeq: 1 });
    expect(verified.headSeq).toBe(verified.checked);

    // Someone with write access to the table rewrites event 4's outcome.
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: gateway.tables.messages,
        Key: marshall({ pk: `${t.tenantId}#audit`, sk: `E#${'4'.padStart(12, '0')}` }),
        UpdateExpression: 'SET outcome = :o',
        ExpressionAttributeValues: marshall({ ':o': 'failure' }),
      }),
    );
    const after = await api.call('GET', '/v1/audit-events/verification', { key: owner.secret });
    expect(after.body).toMatchObject({ intact: false, broken: { seq: 4, reason: 'hash_mismatch' } });
  });
});

type Usage = {
  from: string;
  to: string;
  data: {
    day?: string;
    country?: string;
    mode: string;
    status: string;
    messages: number;
    segments: number;
    estimatedCostUsd: number;
  }[];
  totals: Record<string, { messages: number; segments: number }> & { estimatedCostUsd: number };
};

describe('usage reports and anonymised analytics', () => {
  it('reports messages and segments by day, country and status with an estimated cost, and aggregates across tenants without them', async () => {
    const a = await onboard(api, gateway.adminToken, {
      name: 'Usage A',
      senders: ['UsageA'],
      residency: 'forward',
    });
    const b = await onboard(api, gateway.adminToken, { name: 'Usage B', senders: ['UsageB'] });
    const ownerA = await ownerKey(a.tenantId);
    const sends = [
      [a, 'UsageA', '+12025550140', 'Order 1 shipped'],
      [a, 'UsageA', '+12025550141', 'Order 2 shipped'],
      [a, 'UsageA', '+4915112345678', 'Ihre Bestellung ist unterwegs'],
      [b, 'UsageB', '+12025550142', 'Appointment tomorrow'],
    ] as const;
    const ids = [];
    for (const [t, from, to, body] of sends) {
      const res = await api.call<{ message: { id: string } }>('POST', '/v1/messages', {
        key: t.key,
        body: { to, from, body },
      });
      expect(res.status).toBe(202);
      ids.push([t.key, res.body.message.id] as const);
    }
    for (const [key, id] of ids) {
      await waitFor(async () => {
        const m = await api.call<{ status: string }>('GET', `/v1/messages/${id}`, { key });
        return m.body.status === 'delivered' ? true : undefined;
      }, `message ${id} delivered`);
    }
    // Counts are added when the workers' batches end.
    const report = await waitFor(async () => {
      const res = await api.call<Usage>('GET', '/v1/usage', { key: ownerA.secret });
      expect(res.status).toBe(200);
      return res.body.totals.delivered?.messages === 3 ? res.body : undefined;
    }, 'the usage counts');
    const today = new Date().toISOString().slice(0, 10);
    expect(report.to).toBe(today);
    expect(report.data).toEqual([
      {
        day: today,
        country: 'DE',
        mode: 'live',
        status: 'sent',
        messages: 1,
        segments: 1,
        estimatedCostUsd: 0.1023,
      },
      {
        day: today,
        country: 'DE',
        mode: 'live',
        status: 'delivered',
        messages: 1,
        segments: 1,
        estimatedCostUsd: 0,
      },
      {
        day: today,
        country: 'US',
        mode: 'live',
        status: 'sent',
        messages: 2,
        segments: 2,
        estimatedCostUsd: 0.0166,
      },
      {
        day: today,
        country: 'US',
        mode: 'live',
        status: 'delivered',
        messages: 2,
        segments: 2,
        estimatedCostUsd: 0,
      },
    ]);
    expect(report.totals.estimatedCostUsd).toBe(0.1189);

    const csv = await api.call<string>('GET', '/v1/usage?groupBy=country&format=csv', { key: ownerA.secret });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.body.trim().split('\r\n')).toEqual([
      'country,mode,status,messages,segments,estimatedCostUsd',
      'DE,live,sent,1,1,0.1023',
      'DE,live,delivered,1,1,0',
      'US,live,sent,2,2,0.0166',
      'US,live,delivered,2,2,0',
    ]);
    // Usage is for the account's authorised people: an admin-scoped key.
    expectProblem(await api.call('GET', '/v1/usage', { key: a.key }), 403, 'forbidden');
    expectProblem(
      await api.call('GET', '/v1/usage?from=2026-11-10&to=2026-11-01', { key: ownerA.secret }),
      422,
      'validation-error',
    );

    // The operator sees US cells (two tenants) and not DE (one tenant), and no tenant at all: the
    // EU endpoint's figures count both regions, the global endpoint's its own region only.
    const analytics = await client(gateway.euUrl).call<{
      jurisdictions: string[];
      data: { country: string; status: string; messages: number }[];
      suppressedCells: number;
    }>('GET', '/admin/analytics?k=2', { token: gateway.adminToken });
    expect(analytics.status).toBe(200);
    expect(analytics.body.jurisdictions).toEqual(['global', 'eu']);
    const globalOnly = await api.call<{ jurisdictions: string[]; data: { country: string }[] }>(
      'GET',
      '/admin/analytics?k=2',
      { token: gateway.adminToken },
    );
    expect(globalOnly.status).toBe(200);
    expect(globalOnly.body.jurisdictions).toEqual(['global']);
    expect(globalOnly.body.data.some((c) => c.country === 'US')).toBe(true);
    const us = analytics.body.data.filter((c) => c.country === 'US');
    expect(us.map((c) => [c.status, c.messages])).toEqual(
      expect.arrayContaining([
        ['sent', expect.any(Number)],
        ['delivered', expect.any(Number)],
      ]),
    );
    expect(analytics.body.data.some((c) => c.country === 'DE')).toBe(false);
    expect(analytics.body.suppressedCells).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(analytics.body)).not.toMatch(/ten_|\+\d{6}/);
    // With the default k of 10, these few messages are all suppressed.
    const strict = await api.call<{ data: unknown[] }>('GET', '/admin/analytics', {
      token: gateway.adminToken,
    });
    expect(strict.body.data).toEqual([]);
  });
});
