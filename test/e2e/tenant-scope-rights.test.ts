import { type DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import type { TenantContext } from '../../layers/core/model.ts';
import { functionEnv, functionWiring } from '../support/function-wiring.ts';
import { client, onboard } from '../support/http.ts';
import { startTestGateway } from '../support/local-gateway.ts';
import { executionDynamodb, expectTenantSessionDenials } from '../support/tenant-scope.ts';

/**
 * Issue 14, item 2, for the data subject rights, sender IDs, webhook endpoints and the webhook
 * worker: each function's own wiring runs here with exactly its environment (its execution role,
 * its tenant-access role through the STS stand-in, the IAM proxies), and a use case is made to
 * ask for another tenant's item or key inside this tenant's scope: IAM refuses, not our code.
 */
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
const SUBJECT = '+12025550123';

const envOf = (name: string) => functionEnv(gateway, name);
const { asFunction, restore } = functionWiring(envOf);

const ctx = (tenantId: string): TenantContext =>
  ({
    tenantId,
    keyId: 'key_test',
    mode: 'live',
    scopes: ['read', 'send', 'admin'],
    residency: 'strict',
  }) as TenantContext;

beforeAll(async () => {
  gateway = await startTestGateway('rights', { authorizerCacheSeconds: 1 });
  api = client(gateway.url);
  const scopes = ['send', 'read', 'admin'];
  a = await onboard(api, gateway.adminToken, { name: 'Acme', scopes });
  b = await onboard(api, gateway.adminToken, { name: 'Globex', scopes });
  for (const [key, body] of [
    [a.key, 'Acme to the subject'],
    [b.key, 'Globex to the subject'],
  ] as const) {
    const res = await api.call('POST', '/v1/messages', { key, body: { to: SUBJECT, from: 'Acme', body } });
    expect(res.status).toBe(202);
  }
}, 240_000);

afterAll(async () => {
  restore();
  await gateway?.stop();
});

/**
 * IAM's refusal, however deep the adapters that met it wrapped it (a data key KMS refused is
 * "unreadable" to the use case, its cause the refusal).
 */
function refusedInIam(e: Error & { cause?: unknown }): boolean {
  for (let at: unknown = e; at instanceof Error; at = (at as { cause?: unknown }).cause) {
    if (at.name === 'AccessDeniedException') return true;
  }
  return false;
}

describe('tenant-scoped credentials: /v1/subjects/{phone}', () => {
  it("exports a tenant's own subject, and IAM refuses another tenant's subject (index included) in this tenant's request", async () => {
    const { w, inTenantScope } = await asFunction('subjects');
    const { makeSubjectRights } = await import('../../functions/subject-rights/use-cases/subject-rights.ts');
    const { systemClock, ulidIds } = await import('../../layers/adapters/system.ts');
    const rights = makeSubjectRights({
      messages: w.onDemand(w.messageStore),
      idempotency: w.onDemand(w.idempotencyStore),
      recipients: w.onDemand(w.recipientStore),
      tenants: w.tenantStore(),
      clock: systemClock,
      ids: ulidIds,
      endpoints: {},
      backupWindowDays: 35,
      auditRetentionDays: 365,
      erasureRecordDays: 365,
    });
    const own = await inTenantScope(a.tenantId, () => rights.export(ctx(a.tenantId), SUBJECT, 'global'));
    expect(own.jurisdictions.global?.messages.map((m) => ('body' in m ? m.body : null))).toEqual([
      'Acme to the subject',
    ]);

    const before = gateway.iamDenials.length;
    await expect(
      inTenantScope(a.tenantId, () => rights.export(ctx(b.tenantId), SUBJECT, 'global')),
    ).rejects.toSatisfy(refusedInIam);
    await expect(
      inTenantScope(a.tenantId, () => rights.erase(ctx(b.tenantId), SUBJECT, 'request', 'global')),
    ).rejects.toSatisfy(refusedInIam);
    // The subject index itself: its partition key is `<tenant>#<pseudonym>`, so IAM tells one
    // tenant's subjects from another's there too (dynamodb:LeadingKeys is the index's key).
    const scoped = (w.messageStore('global') as unknown as { client: DynamoDBClient }).client;
    const bySubject = (partition: string) =>
      scoped.send(
        new QueryCommand({
          TableName: gateway.tables.messagesByJurisdiction.global,
          IndexName: 'bySubject',
          KeyConditionExpression: 'gsi2pk = :p',
          ExpressionAttributeValues: { ':p': { S: partition } },
        }),
      );
    await expect(inTenantScope(a.tenantId, () => bySubject(`${a.tenantId}#anything`))).resolves.toMatchObject(
      { Count: 0 },
    );
    await expect(inTenantScope(a.tenantId, () => bySubject(`${b.tenantId}#anything`))).rejects.toSatisfy(
      refusedInIam,
    );
    expectTenantSessionDenials(gateway, before);
    // Globex's subject is untouched, for Globex.
    const theirs = await api.call<{ jurisdictions: { global: { messages: { body: string }[] } } }>(
      'GET',
      `/v1/subjects/${encodeURIComponent(SUBJECT)}/export`,
      { key: b.key },
    );
    expect(theirs.status).toBe(200);
    expect(theirs.body.jurisdictions.global.messages.map((m) => m.body)).toEqual(['Globex to the subject']);
  });

  it("erases a tenant's own subject over HTTP, through the subjects function's tenant role", async () => {
    const erased = await api.call<{ removed: { messages: number } }>(
      'DELETE',
      `/v1/subjects/${encodeURIComponent(SUBJECT)}?reason=request`,
      { key: a.key },
    );
    expect(erased.status).toBe(200);
    expect(erased.body.removed.messages).toBe(1);
    const after = await api.call<{ jurisdictions: { global: { messages: unknown[] } } }>(
      'GET',
      `/v1/subjects/${encodeURIComponent(SUBJECT)}/export`,
      { key: a.key },
    );
    expect(after.body.jurisdictions.global.messages).toEqual([]);
  });
});

const identity = {
  companyName: 'Acme Ltd',
  registrationNumber: 'HRB 1234',
  address: '1 Main St',
  contactName: 'Ada',
  contactEmail: 'ada@acme.example',
  useCase: 'Order updates',
};

describe('tenant-scoped credentials: /v1/sender-ids', () => {
  it("applies for a tenant's own sender ID, and IAM refuses to seal one under another tenant's key in this tenant's request", async () => {
    const { w, inTenantScope } = await asFunction('sender-ids');
    const senders = w.senderIds();
    await expect(
      inTenantScope(a.tenantId, () =>
        senders.apply(ctx(a.tenantId), { value: 'ACMEINFO', countries: [], identity }, 'global'),
      ),
    ).resolves.toMatchObject({ status: 'pending', tenantId: a.tenantId });

    const before = gateway.iamDenials.length;
    await expect(
      inTenantScope(a.tenantId, () =>
        senders.apply(ctx(b.tenantId), { value: 'GLOBEXINFO', countries: [], identity }, 'global'),
      ),
    ).rejects.toSatisfy(refusedInIam);
    expectTenantSessionDenials(gateway, before);
    const theirs = await api.call<{ data: { value: string }[] }>('GET', '/v1/sender-ids', { key: b.key });
    expect(theirs.status).toBe(200);
    expect(theirs.body.data.map((s) => s.value)).not.toContain('GLOBEXINFO');
  });
});

/** Globex's webhook endpoint for status changes at `url`, registered through the API. */
async function globexEndpoint(url: string) {
  const res = await api.call<{ id: string }>('POST', '/v1/webhooks', {
    key: b.key,
    body: { url, events: ['message.status'] },
  });
  expect(res.status).toBe(201);
  return res.body;
}

describe('tenant-scoped credentials: /v1/webhooks and the webhook worker', () => {
  it("manages a tenant's own endpoints, and IAM refuses another tenant's secret and history in this tenant's request", async () => {
    const theirs = await globexEndpoint('https://hooks.globex.example/sms');
    const { w, inTenantScope } = await asFunction('webhooks');
    const endpoints = w.webhookEndpoints();
    const input = { url: 'https://hooks.acme.example/sms', events: ['message.status' as const] };
    const mine = await inTenantScope(a.tenantId, () => endpoints.create(a.tenantId, input));
    await expect(inTenantScope(a.tenantId, () => endpoints.get(a.tenantId, mine.id))).resolves.toMatchObject({
      id: mine.id,
    });
    await expect(
      inTenantScope(a.tenantId, () =>
        endpoints.deliveries(a.tenantId, mine.id, { jurisdiction: 'global', limit: 10 }),
      ),
    ).resolves.toMatchObject({ data: [] });

    const before = gateway.iamDenials.length;
    // Globex's signing secret (opened under Globex's key), a new one sealed for Globex, and
    // Globex's delivery history: each refused to Acme's session.
    await expect(
      inTenantScope(a.tenantId, () => endpoints.rotateSecret(b.tenantId, theirs.id, 0)),
    ).rejects.toSatisfy(refusedInIam);
    await expect(inTenantScope(a.tenantId, () => endpoints.create(b.tenantId, input))).rejects.toSatisfy(
      refusedInIam,
    );
    await expect(
      inTenantScope(a.tenantId, () => w.webhookHistory('global').list(b.tenantId, theirs.id, { limit: 10 })),
    ).rejects.toSatisfy(refusedInIam);
    expectTenantSessionDenials(gateway, before);
  });

  it("IAM refuses the worker a delivery of another tenant's endpoint inside this tenant's scope", async () => {
    const theirs = await globexEndpoint('https://hooks.globex.example/other');
    const { w, inTenantScope } = await asFunction('deliver-webhooks');
    const delivery = {
      id: 'msg_e2e_scope',
      tenantId: b.tenantId,
      endpointId: theirs.id,
      type: 'message.status' as const,
      createdAt: new Date().toISOString(),
      data: { id: 'msg_x' },
    };
    const before = gateway.iamDenials.length;
    await expect(inTenantScope(a.tenantId, () => w.deliverWebhook('global')(delivery, 1))).rejects.toSatisfy(
      refusedInIam,
    );
    expectTenantSessionDenials(gateway, before);
    // Outside any scope, the worker's wiring reaches no tenant data at all.
    await expect(w.deliverWebhook('global')(delivery, 1)).rejects.toMatchObject({
      name: 'NoTenantScopeError',
    });
  });
});

type Wiring = Awaited<ReturnType<typeof asFunction>>['w'];

/**
 * As the function `name` (its own wiring and roles), in tenant A's scope: A's own items are
 * listed, and IAM refuses B's list and one of B's items (`another`), under a tenant session.
 */
async function listsOnlyItsOwn<S extends { list(tenantId: string): Promise<unknown> }>(
  name: string,
  store: (w: Wiring) => S,
  another: (store: S, otherTenantId: string) => Promise<unknown>,
) {
  const { w, inTenantScope } = await asFunction(name);
  await expect(inTenantScope(a.tenantId, () => store(w).list(a.tenantId))).resolves.toEqual(
    expect.any(Array),
  );
  const before = gateway.iamDenials.length;
  await expect(inTenantScope(a.tenantId, () => store(w).list(b.tenantId))).rejects.toSatisfy(refusedInIam);
  await expect(inTenantScope(a.tenantId, () => another(store(w), b.tenantId))).rejects.toSatisfy(
    refusedInIam,
  );
  expectTenantSessionDenials(gateway, before);
}

describe("tenant-scoped credentials: the tenants table's tenant items", () => {
  /** The function's execution role's own DynamoDB client (through its IAM proxy). */
  const execution = (name: string) => executionDynamodb(gateway, envOf(name));

  it("IAM refuses another tenant's sender IDs, endpoints, monthly counters, Idempotency-Key claims and record in this tenant's request", async () => {
    const applied = await api.call<{ id: string }>('POST', '/v1/sender-ids', {
      key: b.key,
      body: { value: 'GLOBEXID', countries: [], identity },
    });
    expect(applied.status).toBe(201);
    const hook = await api.call<{ id: string }>('POST', '/v1/webhooks', {
      key: b.key,
      body: { url: 'https://hooks.globex.example/records', events: ['message.status'] },
    });
    expect(hook.status).toBe(201);
    const month = new Date().toISOString().slice(0, 7);

    await listsOnlyItsOwn(
      'sender-ids',
      (w) => w.senderIdStore(),
      (ids, other) => ids.get(other, applied.body.id),
    );
    await listsOnlyItsOwn(
      'webhooks',
      (w) => w.webhookStore(),
      (hooks, other) => hooks.remove(other, hook.body.id),
    );

    const { w, inTenantScope } = await asFunction('send-message');
    // Each in tenant A's request, for the tenant named.
    const addUsage = (tenantId: string) =>
      inTenantScope(a.tenantId, () => w.counters().addUsage(tenantId, month, 1, 0));
    const claim = (tenantId: string) =>
      inTenantScope(a.tenantId, () => w.idempotencyKeyScope().claim(tenantId, 'k-records', 'h', new Date()));
    // Its own monthly counter and claim, with its tenant role; the rate bucket, gateway-wide.
    await expect(addUsage(a.tenantId)).resolves.toBe(true);
    await expect(claim(a.tenantId)).resolves.toBe(true);
    await expect(
      inTenantScope(a.tenantId, () => w.counters().admit(`tenant#${a.tenantId}`, 600, 100, new Date())),
    ).resolves.toMatchObject({ ok: true });
    const before = gateway.iamDenials.length;
    await expect(addUsage(b.tenantId)).rejects.toSatisfy(refusedInIam);
    await expect(claim(b.tenantId)).rejects.toSatisfy(refusedInIam);
    await expect(inTenantScope(a.tenantId, () => w.tenantStore().getTenant(b.tenantId))).rejects.toSatisfy(
      refusedInIam,
    );
    expectTenantSessionDenials(gateway, before);
    // Globex's endpoint is still there for Globex.
    const kept = await api.call('GET', `/v1/webhooks/${hook.body.id}`, { key: b.key });
    expect(kept.status).toBe(200);
  });

  for (const name of [
    'usage',
    'dispatch-messages',
    'apply-carrier-events',
    'carrier-inbound',
    'deliver-webhooks',
  ] as const) {
    it(`${name}: IAM refuses another tenant's record and endpoints in one tenant's scope; its execution role reads no tenant's item`, async () => {
      const { w, inTenantScope } = await asFunction(name);
      await expect(
        inTenantScope(a.tenantId, () => w.tenantStore().getTenant(a.tenantId)),
      ).resolves.toMatchObject({ id: a.tenantId });
      const before = gateway.iamDenials.length;
      await expect(inTenantScope(a.tenantId, () => w.tenantStore().getTenant(b.tenantId))).rejects.toSatisfy(
        refusedInIam,
      );
      await expect(inTenantScope(a.tenantId, () => w.webhookStore().list(b.tenantId))).rejects.toSatisfy(
        refusedInIam,
      );
      expectTenantSessionDenials(gateway, before);
      // Outside any scope, none at all.
      await expect(w.tenantStore().getTenant(b.tenantId)).rejects.toMatchObject({
        name: 'NoTenantScopeError',
      });
      const client = execution(name);
      try {
        for (const pk of [b.tenantId, `IDEMKEY#${b.tenantId}`]) {
          await expect(
            client.send(
              new GetItemCommand({ TableName: gateway.tables.tenants, Key: marshall({ pk, sk: 'PROFILE' }) }),
            ),
          ).rejects.toMatchObject({ name: 'AccessDeniedException' });
        }
      } finally {
        client.destroy();
      }
    });
  }
});
