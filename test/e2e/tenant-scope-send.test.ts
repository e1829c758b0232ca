import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { DEFAULT_RETENTION, type TenantContext } from '../../layers/core/model.ts';
import { functionEnv, functionWiring } from '../support/function-wiring.ts';
import { client, deliveredMessage, issueOwnerKey, onboard, waitFor } from '../support/http.ts';
import { startTestGateway } from '../support/local-gateway.ts';
import {
  executionDynamodb,
  getAsExecutionRole,
  openKeyringOf,
  refusedInIam,
} from '../support/tenant-scope.ts';

/**
 * Issue 14, item 2, for the send routes: POST /v1/messages and /v1/messages/batch reach the
 * messages tables and tenant keys only through their tenant-access role, so a use case made to
 * ask for another tenant's item or key inside this tenant's request is refused by IAM (the local
 * IAM proxy), not by our code. Their execution roles keep the gateway-wide items alone: the block
 * list (read) and the gateway-wide usage counters (write), by key pattern.
 */
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let euApi: ReturnType<typeof client>;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
let bMessage: string;

const GERMAN = '+4915123456789';
const US = '+12025550100';
const SEND_FUNCTIONS = ['send-message', 'send-batch'] as const;

type Message = { id: string; status: string; jurisdiction: string };

const envOf = (name: string, jurisdiction: 'global' | 'eu' = 'global') =>
  functionEnv(gateway, name, jurisdiction);
const { asFunction, restore } = functionWiring(envOf);

const ctx = (tenantId: string): TenantContext =>
  ({
    tenantId,
    keyId: 'key_test',
    mode: 'live',
    scopes: ['send', 'read'],
    retention: DEFAULT_RETENTION,
    residency: 'strict',
  }) as TenantContext;

beforeAll(async () => {
  gateway = await startTestGateway('scopesend', { authorizerCacheSeconds: 1 });
  api = client(gateway.url);
  euApi = client(gateway.euUrl);
  a = await onboard(api, gateway.adminToken, { name: 'Acme' });
  b = await onboard(api, gateway.adminToken, { name: 'Globex' });
  const sent = await api.call<{ message: Message }>('POST', '/v1/messages', {
    key: b.key,
    body: { to: US, from: 'Acme', body: 'for Globex only' },
  });
  expect(sent.status).toBe(202);
  bMessage = sent.body.message.id;
});

afterAll(async () => {
  restore();
  await gateway?.stop();
});

/** A send function's wiring (see functionWiring), with the send use cases of that load. */
async function asSendFunction(name: string) {
  const loaded = await asFunction(name);
  const use = await import('../../functions/messages/use-cases/send-messages.ts');
  return { ...loaded, use };
}

/**
 * The denials the IAM proxies logged since `mark()` (each proxy keeps its own list, so the
 * gateway's list is not in time order: new ones are told apart from those seen before).
 */
const mark = () => {
  const seen = new Set(gateway.iamDenials);
  return () => gateway.iamDenials.filter((d) => !seen.has(d));
};
const ofSendRoles = (denials: { role: string }[]) =>
  denials.filter((d) => SEND_FUNCTIONS.some((f) => d.role.includes(f.replace(/-/g, ''))));

describe('tenant-scoped credentials: sending', () => {
  it("sends with the scoped roles: a tenant's first message in the EU (its key made there), a batch across both regions, and replays", async () => {
    const deniedSince = mark();
    // A global-home tenant has no EU key until its first EU message: made in this request.
    const c = await onboard(api, gateway.adminToken, { name: 'Initech', residency: 'forward' });
    const first = await euApi.call<{ message: Message }>('POST', '/v1/messages', {
      key: c.key,
      body: { to: GERMAN, from: 'Acme', body: 'Erste Nachricht' },
      headers: { 'idempotency-key': 'first-eu' },
    });
    expect(first.status).toBe(202);
    expect(first.body.message.jurisdiction).toBe('eu');
    await deliveredMessage(euApi, c.key, first.body.message.id);
    const replay = await euApi.call<{ message: Message }>('POST', '/v1/messages', {
      key: c.key,
      body: { to: GERMAN, from: 'Acme', body: 'Erste Nachricht' },
      headers: { 'idempotency-key': 'first-eu' },
    });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.message.id).toBe(first.body.message.id);

    // A batch at the global endpoint: the US message here, the German one relayed to the EU API.
    type Batch = { accepted: number; results: { status: string; message?: Message }[] };
    const batch = () =>
      api.call<Batch>('POST', '/v1/messages/batch', {
        key: c.key,
        body: {
          messages: [
            { to: US, from: 'Acme', body: 'Batch here' },
            { to: GERMAN, from: 'Acme', body: 'Batch dort' },
          ],
        },
        headers: { 'idempotency-key': 'batch-1' },
      });
    const sent = await batch();
    expect(sent.status).toBe(200);
    expect(sent.body.accepted).toBe(2);
    const [here, there] = sent.body.results.map((r) => r.message!);
    expect([here!.jurisdiction, there!.jurisdiction]).toEqual(['global', 'eu']);
    await deliveredMessage(api, c.key, here!.id);
    await deliveredMessage(euApi, c.key, there!.id);
    const again = await batch();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(sent.body);

    // A single message at the global endpoint, and its replay.
    const single = () =>
      api.call<{ message: Message }>('POST', '/v1/messages', {
        key: a.key,
        body: { to: US, from: 'Acme', body: 'Single here' },
        headers: { 'idempotency-key': 'single-1' },
      });
    const one = await single();
    expect(one.status).toBe(202);
    await deliveredMessage(api, a.key, one.body.message.id);
    expect((await single()).headers.get('idempotent-replayed')).toBe('true');
    // Nothing the send routes did was refused on the way (a refused usage count is only logged).
    expect(ofSendRoles(deniedSince())).toEqual([]);
  });

  for (const name of SEND_FUNCTIONS) {
    it(`${name}: IAM refuses a use case that sends as another tenant in this tenant's request`, async () => {
      const { w, inTenantScope, use } = await asSendFunction(name);
      const input = { to: US, from: 'Acme', body: 'not mine to send' };
      const deniedSince = mark();
      if (name === 'send-message') {
        const send = use.makeSendMessage(w.sendDeps());
        await expect(
          inTenantScope(a.tenantId, () => send(ctx(b.tenantId), input, 'global')),
        ).rejects.toSatisfy(refusedInIam);
      } else {
        const send = use.makeSendBatch(w.sendDeps());
        await expect(
          inTenantScope(a.tenantId, () => send(ctx(b.tenantId), [{ ok: true, input }], 'global')),
        ).rejects.toSatisfy(refusedInIam);
      }
      expect(deniedSince().length).toBeGreaterThan(0);
      expect(deniedSince().every((d) => /TenantAccess/.test(d.role))).toBe(true);
      // The same use case, for the tenant whose request it is, is served.
      const own = await inTenantScope(a.tenantId, () =>
        name === 'send-message'
          ? use.makeSendMessage(w.sendDeps())(ctx(a.tenantId), { ...input, body: 'mine' }, 'global')
          : use.makeSendBatch(w.sendDeps())(
              ctx(a.tenantId),
              [{ ok: true, input: { ...input, body: 'mine' } }],
              'global',
            ),
      );
      expect(JSON.stringify(own)).toContain('"queued"');
    });

    it(`${name}: IAM refuses another tenant's Idempotency-Key record, usage counters and keys in this tenant's request`, async () => {
      const { w, inTenantScope } = await asSendFunction(name);
      const deniedSince = mark();
      // Its Idempotency-Key record (the store's own call, without the digest before it).
      await expect(
        inTenantScope(a.tenantId, () => w.idempotencyStore('global').release(b.tenantId, 'k-1')),
      ).rejects.toSatisfy(refusedInIam);
      // Its usage counters (a quarantined message's count at acceptance).
      const count = (tenantId: string) => ({
        tenantId,
        jurisdiction: 'global' as const,
        day: new Date().toISOString().slice(0, 10),
        country: 'US',
        mode: 'live' as const,
        status: 'quarantined' as const,
        messages: 1,
        segments: 1,
      });
      await expect(
        inTenantScope(a.tenantId, () => w.usageLedger('global').add([count(b.tenantId)])),
      ).rejects.toSatisfy(refusedInIam);
      // Its key: unwrapping its keyring's secret, and making a key for a tenant that has none.
      await expect(openKeyringOf(gateway, { w, inTenantScope }, a.tenantId, b.tenantId)).rejects.toSatisfy(
        refusedInIam,
      );
      await expect(
        inTenantScope(a.tenantId, () =>
          w.keyService('global').createTenantKey('ten_01NOKEYYETNOKEYYETNOKEYYE', 'global'),
        ),
      ).rejects.toSatisfy(refusedInIam);
      const denied = deniedSince();
      expect(denied.every((d) => /TenantAccess/.test(d.role))).toBe(true);
      expect(denied.map((d) => d.action)).toEqual(
        expect.arrayContaining([
          'dynamodb:DeleteItem',
          'dynamodb:UpdateItem',
          'kms:Decrypt',
          'kms:CreateKey',
        ]),
      );
      // Its own counters are counted (the gateway-wide total by the execution role).
      await expect(
        inTenantScope(a.tenantId, () => w.usageLedger('global').add([count(a.tenantId)])),
      ).resolves.toBeUndefined();
    });

    it(`${name}: its execution role reads the block list and writes the gateway-wide counters, and reaches no tenant's item`, async () => {
      const { w, inTenantScope } = await asSendFunction(name);
      const env = envOf(name);
      // The block list is read with the execution role's credentials, inside a tenant's request too.
      await expect(
        inTenantScope(a.tenantId, () => w.blockList('global').isBlocked('not-a-blocked-pseudonym')),
      ).resolves.toBe(false);
      // Read only: blocking a number is the public flows' work.
      await expect(
        inTenantScope(a.tenantId, () => w.blockList('global').block('someone', new Date(), 'keyword')),
      ).rejects.toSatisfy(refusedInIam);
      const execution = executionDynamodb(gateway, env);
      const TableName = gateway.tables.messagesByJurisdiction.global;
      try {
        // The gateway-wide counters (no tenant's partition) are its own to add to.
        await expect(
          execution.send(
            new UpdateItemCommand({
              TableName,
              Key: marshall({ pk: 'usage#1970-01-01', sk: 'ZZ' }),
              UpdateExpression: 'ADD quarantined_m :one',
              ExpressionAttributeValues: marshall({ ':one': 1 }),
            }),
          ),
        ).resolves.toBeDefined();
        for (const key of [
          { pk: b.tenantId, sk: `MSG#${bMessage}` },
          { pk: b.tenantId, sk: 'KEYRING' },
          { pk: `${b.tenantId}#usage`, sk: 'x' },
        ]) {
          await expect(
            execution.send(new GetItemCommand({ TableName, Key: marshall(key) })),
          ).rejects.toMatchObject({ name: 'AccessDeniedException' });
        }
        await expect(
          execution.send(
            new PutItemCommand({ TableName, Item: marshall({ pk: `${b.tenantId}#usage`, sk: 'x' }) }),
          ),
        ).rejects.toMatchObject({ name: 'AccessDeniedException' });
        await expect(
          execution.send(
            new UpdateItemCommand({
              TableName,
              Key: marshall({ pk: b.tenantId, sk: 'IDEM#k' }),
              UpdateExpression: 'SET x = :x',
              ExpressionAttributeValues: marshall({ ':x': 1 }),
            }),
          ),
        ).rejects.toMatchObject({ name: 'AccessDeniedException' });
      } finally {
        execution.destroy();
      }
    });
  }
});

describe('tenant-scoped credentials: GET /v1/usage', () => {
  it("reports a tenant's own usage at either endpoint with its scoped role, and IAM refuses another tenant's counters in this tenant's request", async () => {
    const deniedSince = mark();
    // Acme's message is counted as the carrier takes it (the worker's counters).
    const sent = await api.call<{ message: Message }>('POST', '/v1/messages', {
      key: a.key,
      body: { to: US, from: 'Acme', body: 'Counted' },
    });
    expect(sent.status).toBe(202);
    await deliveredMessage(api, a.key, sent.body.message.id);
    const owner = await issueOwnerKey(api, gateway.adminToken, a.tenantId);
    type Usage = { data: { status: string; messages: number }[] };
    const report = await waitFor(async () => {
      const res = await api.call<Usage>('GET', '/v1/usage', { key: owner.secret });
      expect(res.status).toBe(200);
      return res.body.data.some((r) => r.status === 'sent' && r.messages > 0) ? res.body : undefined;
    }, "Acme's usage");
    expect(report.data.length).toBeGreaterThan(0);
    // The EU endpoint counts both regions: the EU function reads the global region's counters too.
    const both = await euApi.call<Usage>('GET', '/v1/usage', { key: owner.secret });
    expect(both.status).toBe(200);
    expect(both.body.data.some((r) => r.status === 'sent' && r.messages > 0)).toBe(true);
    expect(deniedSince().filter((d) => d.role.includes('usage'))).toEqual([]);

    const { w, inTenantScope } = await asFunction('usage');
    const { UsageQuery } = await import('../../functions/usage/schemas.ts');
    const q = UsageQuery.parse({});
    const reports = w.usageReports();
    await expect(
      inTenantScope(a.tenantId, () => reports.tenantReport(a.tenantId, q, 'global')),
    ).resolves.toMatchObject({ data: expect.arrayContaining([expect.objectContaining({ status: 'sent' })]) });
    const refusals = mark();
    await expect(
      inTenantScope(a.tenantId, () => reports.tenantReport(b.tenantId, q, 'global')),
    ).rejects.toSatisfy(refusedInIam);
    expect(refusals().map((d) => d.action)).toContain('dynamodb:Query');
    expect(refusals().every((d) => /usageTenantAccess/.test(d.role))).toBe(true);
    // Its execution role reads no tenant's counters itself.
    await expect(
      getAsExecutionRole(gateway, envOf('usage'), gateway.tables.messagesByJurisdiction.global, {
        pk: `${a.tenantId}#usage`,
        sk: 'x',
      }),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('tenant-scoped credentials: /v1/settings/replies', () => {
  it("reads and changes a tenant's own replies with its scoped role, and IAM refuses another tenant's record in this tenant's request", async () => {
    const deniedSince = mark();
    const owner = await issueOwnerKey(api, gateway.adminToken, a.tenantId);
    const put = await api.call<{ helpText: string }>('PUT', '/v1/settings/replies', {
      key: owner.secret,
      body: { helpText: 'Acme: reply STOP to opt out.' },
    });
    expect(put.status).toBe(200);
    const got = await api.call<{ helpText: string }>('GET', '/v1/settings/replies', { key: a.key });
    expect(got.status).toBe(200);
    expect(got.body.helpText).toBe('Acme: reply STOP to opt out.');
    // The EU region's function, through its own region's replica of the tenants table.
    await waitFor(async () => {
      const eu = await euApi.call<{ helpText: string }>('GET', '/v1/settings/replies', { key: a.key });
      expect(eu.status).toBe(200);
      return eu.body.helpText === 'Acme: reply STOP to opt out.' ? true : undefined;
    }, 'the replies at the EU endpoint');
    expect(deniedSince().filter((d) => d.role.includes('settings'))).toEqual([]);

    const { w, inTenantScope } = await asFunction('settings');
    const admin = w.tenantAdmin();
    await expect(inTenantScope(a.tenantId, () => admin.replies(a.tenantId))).resolves.toMatchObject({
      helpText: 'Acme: reply STOP to opt out.',
    });
    const refusals = mark();
    await expect(inTenantScope(a.tenantId, () => admin.replies(b.tenantId))).rejects.toSatisfy(refusedInIam);
    await expect(
      inTenantScope(a.tenantId, () => admin.updateReplies(b.tenantId, { helpText: 'not yours' })),
    ).rejects.toSatisfy(refusedInIam);
    expect(refusals().length).toBeGreaterThan(0);
    expect(refusals().every((d) => /settingsTenantAccess/.test(d.role))).toBe(true);
    // Globex's replies are untouched.
    const theirs = await api.call<{ helpText: string }>('GET', '/v1/settings/replies', { key: b.key });
    expect(theirs.body.helpText).not.toBe('not yours');
    // Its execution role reads no tenant's record itself, only the rate buckets.
    const asSettings = (key: { pk: string; sk: string }) =>
      getAsExecutionRole(gateway, envOf('settings'), gateway.tables.tenants, key);
    await expect(asSettings({ pk: a.tenantId, sk: 'PROFILE' })).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(asSettings({ pk: `RATE#tenant#${a.tenantId}`, sk: 'RATE' })).resolves.toBeDefined();
  });
});
