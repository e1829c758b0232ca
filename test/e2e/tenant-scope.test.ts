import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { encryptionContext } from '../../layers/core/crypto.ts';
import type { TenantContext } from '../../layers/core/model.ts';
import { localClients } from '../support/aws.ts';
import { functionEnv, functionWiring } from '../support/function-wiring.ts';
import { client, onboard } from '../support/http.ts';
import { startTestGateway } from '../support/local-gateway.ts';

/**
 * Issue 14, item 2: a tenant-scoped function reaches tenant data only with credentials scoped to
 * the tenant whose request runs (its tenant-access role, assumed through STS with the tenant's
 * session tag). Here the read route's own wiring runs in this process with exactly the function's
 * environment (its execution role's credentials, the IAM proxies, the STS stand-in), and a use
 * case is made to ask for another tenant's message and key: IAM refuses, not our code.
 */
let gateway: RunningGateway;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
let aMessage: string;
let bMessage: string;
let env: Record<string, string>;
let api: ReturnType<typeof client>;

const envOf = (name: string) => functionEnv(gateway, name);
const { asFunction, restore } = functionWiring(envOf);

const ctx = (tenantId: string): TenantContext =>
  ({ tenantId, keyId: 'key_test', mode: 'live', scopes: ['read'], residency: 'strict' }) as TenantContext;

beforeAll(async () => {
  gateway = await startTestGateway('scope', {
    authorizerCacheSeconds: 1,
  });
  api = client(gateway.url);
  a = await onboard(api, gateway.adminToken, { name: 'Acme' });
  b = await onboard(api, gateway.adminToken, { name: 'Globex' });
  const send = async (key: string, body: string) => {
    const res = await api.call<{ message: { id: string } }>('POST', '/v1/messages', {
      key,
      body: { to: '+12025550100', from: 'Acme', body },
    });
    expect(res.status).toBe(202);
    return res.body.message.id;
  };
  aMessage = await send(a.key, 'for Acme only');
  bMessage = await send(b.key, 'for Globex only');
  env = envOf('get-message');
  // The function's environment, as its instances get it.
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
});

afterAll(async () => {
  restore();
  await gateway?.stop();
});

/** The read route's wiring, loaded as the function loads it (its declaration registered first). */
async function wiring() {
  const { loadSettings } = await import('../../layers/declaration.ts');
  const { declaration } = await import('../../functions/messages/get-message.def.ts');
  loadSettings(declaration);
  const w = {
    ...(await import('../../layers/wiring.ts')),
    ...(await import('../../functions/recipients/wiring.ts')),
  };
  const { inTenantScope } = await import('../../layers/tenant-scope.ts');
  const { getMessage } = await readUseCases(w);
  return { w, getMessage, inTenantScope };
}

/** The message read use cases (get, body removal) as a function's wiring composes them. */
async function readUseCases(
  w: Pick<Awaited<ReturnType<typeof asFunction>>['w'], 'onDemand' | 'messageStore'>,
) {
  const { makeGetMessage, makeRedactBody } = await import(
    '../../functions/messages/use-cases/read-messages.ts'
  );
  const { systemClock } = await import('../../layers/adapters/system.ts');
  const deps = { messages: w.onDemand(w.messageStore), clock: systemClock, endpoints: {} };
  return { getMessage: makeGetMessage(deps), redact: makeRedactBody(deps) };
}

const deniedTo = (action: string) =>
  gateway.iamDenials.filter((d) => d.action === action && /TenantAccess/.test(d.role));

describe('tenant-scoped credentials (issue 14, item 2)', () => {
  it("serves a tenant's own message with that tenant's scoped credentials", async () => {
    const { getMessage, inTenantScope } = await wiring();
    const view = await inTenantScope(a.tenantId, () => getMessage(ctx(a.tenantId), aMessage, 'global'));
    expect(view).toMatchObject({ id: aMessage, body: 'for Acme only' });
  });

  it("refuses, in IAM, a use case that asks for another tenant's message in this tenant's request", async () => {
    const { getMessage, inTenantScope } = await wiring();
    const before = deniedTo('dynamodb:GetItem').length;
    const asked = inTenantScope(a.tenantId, () => getMessage(ctx(b.tenantId), bMessage, 'global'));
    await expect(asked).rejects.toMatchObject({ name: 'AccessDeniedException' });
    // The proxy refused the tenant-access role's session, whose tag names Acme, not Globex's item.
    expect(deniedTo('dynamodb:GetItem').length).toBeGreaterThan(before);
  });

  it("refuses, in IAM, another tenant's key in this tenant's request", async () => {
    const { w, inTenantScope } = await wiring();
    const raw = await localClients(gateway.regions.global).dynamodb.send(
      new GetItemCommand({
        TableName: gateway.tables.messagesByJurisdiction.global,
        Key: { pk: { S: b.tenantId }, sk: { S: 'KEYRING' } },
      }),
    );
    const wrapped = unmarshall(raw.Item!).wrappedSecret as Uint8Array;
    const before = deniedTo('kms:Decrypt').length;
    const unwrap = inTenantScope(a.tenantId, () =>
      w.keyService('global').decrypt(wrapped, encryptionContext(b.tenantId, 'global', 'pseudonym')),
    );
    await expect(unwrap).rejects.toSatisfy(
      (e: Error & { cause?: Error }) => (e.cause ?? e).name === 'AccessDeniedException',
    );
    expect(deniedTo('kms:Decrypt').length).toBeGreaterThan(before);
  });

  it('reaches no tenant data outside a tenant scope, and its execution role reads none itself', async () => {
    const { w } = await wiring();
    await expect(w.messageStore('global').get(a.tenantId, aMessage, new Date())).rejects.toMatchObject({
      name: 'NoTenantScopeError',
    });
    const execution = new DynamoDBClient({
      region: gateway.regions.global,
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB!,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    });
    await expect(
      execution.send(
        new GetItemCommand({
          TableName: gateway.tables.messagesByJurisdiction.global,
          Key: { pk: { S: a.tenantId }, sk: { S: `MSG#${aMessage}` } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    execution.destroy();
  });

  it("lets only the function's own execution role assume its tenant role, and only with exactly a tenant tag", async () => {
    const assume = (as: Record<string, string>, tags: { Key: string; Value: string }[]) => {
      const sts = new STSClient({
        region: gateway.regions.global,
        endpoint: as.AWS_ENDPOINT_URL_STS!,
        credentials: { accessKeyId: as.AWS_ACCESS_KEY_ID!, secretAccessKey: as.AWS_SECRET_ACCESS_KEY! },
      });
      return sts
        .send(
          new AssumeRoleCommand({ RoleArn: env.TENANT_ACCESS_ROLE_ARN!, RoleSessionName: 's', Tags: tags }),
        )
        .finally(() => sts.destroy());
    };
    const tenant = { Key: 'tenant', Value: a.tenantId };
    await expect(assume(env, [tenant])).resolves.toMatchObject({ Credentials: expect.any(Object) });
    // Another function's execution role (list-messages has its own tenant role).
    await expect(assume(envOf('list-messages'), [tenant])).rejects.toMatchObject({ name: 'AccessDenied' });
    // No tenant tag, or one more tag (which could override the role's own tags).
    await expect(assume(env, [])).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(
      assume(env, [tenant, { Key: 'sms-gateway-role', Value: 'tenant-key-user' }]),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

/** IAM's refusal, however deep the adapter that met it wrapped it. */
const refusedInIam = (e: Error & { cause?: Error }) => (e.cause ?? e).name === 'AccessDeniedException';

describe('tenant-scoped credentials: DELETE /v1/messages/{id}/body', () => {
  it("removes a tenant's own body, and IAM refuses another tenant's (read or removal) in this tenant's request", async () => {
    const { w, inTenantScope } = await asFunction('delete-message-body');
    const { redact } = await readUseCases(w);
    const send = async (key: string, body: string) =>
      (
        await api.call<{ message: { id: string } }>('POST', '/v1/messages', {
          key,
          body: { to: '+12025550100', from: 'Acme', body },
        })
      ).body.message.id;
    const mine = await send(a.key, 'Acme, to be removed');
    const theirs = await send(b.key, 'Globex, to be kept');

    const own = await inTenantScope(a.tenantId, () => redact(ctx(a.tenantId), mine, 'global'));
    expect(own).toMatchObject({ id: mine, body: null });

    const before = gateway.iamDenials.length;
    await expect(
      inTenantScope(a.tenantId, () => redact(ctx(b.tenantId), theirs, 'global')),
    ).rejects.toSatisfy(refusedInIam);
    // The removal itself, even without the read before it.
    await expect(
      inTenantScope(a.tenantId, () => w.messageStore('global').removeBody(b.tenantId, theirs, new Date())),
    ).rejects.toSatisfy(refusedInIam);
    expect(gateway.iamDenials.slice(before).every((d) => /TenantAccess/.test(d.role))).toBe(true);
    expect(gateway.iamDenials.length).toBeGreaterThan(before);
    // Globex's body is still there for Globex.
    const kept = await api.call<{ body?: string }>('GET', `/v1/messages/${theirs}`, { key: b.key });
    expect(kept.body.body).toBe('Globex, to be kept');
  });
});

describe('tenant-scoped credentials: /v1/opt-outs', () => {
  it("lists and adds a tenant's own opt-outs, and IAM refuses another tenant's list in this tenant's request", async () => {
    const { w, inTenantScope } = await asFunction('opt-outs');
    const lists = w.recipientLists();
    const entry = { phone: '+12025550111', scope: 'all' as const };
    await expect(
      inTenantScope(a.tenantId, () => lists.addOptOut(ctx(a.tenantId), entry, 'global')),
    ).resolves.toMatchObject({ phone: entry.phone });
    const own = await inTenantScope(a.tenantId, () => lists.listOptOuts(ctx(a.tenantId), 'global'));
    expect(own.data.map((o) => ('phone' in o ? o.phone : undefined))).toContain(entry.phone);

    const before = gateway.iamDenials.length;
    await expect(
      inTenantScope(a.tenantId, () => lists.listOptOuts(ctx(b.tenantId), 'global')),
    ).rejects.toSatisfy(refusedInIam);
    await expect(
      inTenantScope(a.tenantId, () => lists.addOptOut(ctx(b.tenantId), entry, 'global')),
    ).rejects.toSatisfy(refusedInIam);
    expect(gateway.iamDenials.slice(before).every((d) => /TenantAccess/.test(d.role))).toBe(true);
    expect(gateway.iamDenials.length).toBeGreaterThan(before);
    // Nothing was written to Globex's list.
    const theirs = await api.call<{ data: { phone: string }[] }>('GET', '/v1/opt-outs', { key: b.key });
    expect(theirs.status).toBe(200);
    expect(theirs.body.data.map((o) => o.phone)).not.toContain(entry.phone);
  });
});

describe('tenant-scoped credentials: /v1/consents', () => {
  it("records a tenant's own consent, and IAM refuses another tenant's ledger in this tenant's request", async () => {
    const { w, inTenantScope } = await asFunction('consents');
    const lists = w.recipientLists();
    const consent = { phone: '+12025550112', source: 'signup form', disclosureVersion: 'v1' };
    await expect(
      inTenantScope(a.tenantId, () => lists.recordConsent(ctx(a.tenantId), consent, undefined, 'global')),
    ).resolves.toMatchObject({ phone: consent.phone, kind: 'granted' });

    const before = gateway.iamDenials.length;
    await expect(
      inTenantScope(a.tenantId, () => lists.consentLedger(ctx(b.tenantId), consent.phone, 'global')),
    ).rejects.toSatisfy(refusedInIam);
    await expect(
      inTenantScope(a.tenantId, () => lists.recordConsent(ctx(b.tenantId), consent, undefined, 'global')),
    ).rejects.toSatisfy(refusedInIam);
    expect(gateway.iamDenials.slice(before).every((d) => /TenantAccess/.test(d.role))).toBe(true);
    expect(gateway.iamDenials.length).toBeGreaterThan(before);
    const theirs = await api.call<{ live: boolean; data: unknown[] }>(
      'GET',
      `/v1/consents/${encodeURIComponent(consent.phone)}`,
      { key: b.key },
    );
    expect(theirs.body).toMatchObject({ live: false, data: [] });
  });
});

describe('tenant-scoped credentials: GET /v1/audit-events', () => {
  it("verifies a tenant's own trail, and IAM refuses another tenant's trail in this tenant's request", async () => {
    const { w, inTenantScope } = await asFunction('audit-events');
    const trail = w.auditTrail();
    await expect(
      inTenantScope(a.tenantId, () => trail.verify(a.tenantId, ctx(a.tenantId), {}, 'global')),
    ).resolves.toMatchObject({ intact: true });
    const before = gateway.iamDenials.length;
    await expect(
      inTenantScope(a.tenantId, () => trail.verify(b.tenantId, ctx(b.tenantId), {}, 'global')),
    ).rejects.toSatisfy(refusedInIam);
    expect(gateway.iamDenials.slice(before).every((d) => /TenantAccess/.test(d.role))).toBe(true);
    expect(gateway.iamDenials.length).toBeGreaterThan(before);
  });
});
