import { GetItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { aggregateShard } from '../../layers/adapters/dynamodb-usage-ledger.ts';
import type { AuditEntry } from '../../layers/core/audit.ts';
import type { Carrier } from '../../layers/ports/index.ts';
import { localClients, uniqueName } from '../support/aws.ts';
import { functionEnv, functionWiring } from '../support/function-wiring.ts';
import { carrierReply, carrierToken, client, onboard, waitFor } from '../support/http.ts';
import { startTestGateway } from '../support/local-gateway.ts';
import {
  executionDynamodb,
  expectTenantSessionDenials,
  openKeyringOf,
  refusedInIam,
} from '../support/tenant-scope.ts';

/**
 * Issue 14, item 2, for the queue workers: dispatch-messages, record-audit-events and
 * apply-carrier-events reach tenant data only with the credentials of the tenant whose record
 * they process (their tenant-access roles, assumed per tenant), and keep on their execution roles
 * only what is no tenant's. Each worker's own wiring is loaded here with exactly its environment
 * (its execution role, the IAM proxies, the STS stand-in); a use case is made to touch another
 * tenant's item or key inside one tenant's scope, and IAM refuses it.
 */
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
let aMessage: string;
let bMessage: string;
const PERSON = '+12025550133';

type Message = { id: string; status: string };

const envOf = (name: string) => functionEnv(gateway, name);
const { asFunction, restore } = functionWiring(envOf);

const send = async (key: string, from: string, body: string) => {
  const res = await api.call<{ message: Message }>('POST', '/v1/messages', {
    key,
    body: { to: PERSON, from, body },
  });
  expect(res.status).toBe(202);
  return res.body.message.id;
};
const statusOf = async (key: string, id: string) =>
  (await api.call<Message>('GET', `/v1/messages/${id}`, { key })).body.status;

beforeAll(async () => {
  gateway = await startTestGateway('scope-workers', { authorizerCacheSeconds: 1 });
  api = client(gateway.url);
  a = await onboard(api, gateway.adminToken, { name: 'Acme', senders: ['Acme'] });
  b = await onboard(api, gateway.adminToken, { name: 'Globex', senders: ['Globex'] });
  aMessage = await send(a.key, 'Acme', 'for Acme only');
  bMessage = await send(b.key, 'Globex', 'for Globex only');
});

afterAll(async () => {
  restore();
  await gateway?.stop();
});

const sqsEvent = (bodies: unknown[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}-${uniqueName('rec')}`,
    receiptHandle: 'r',
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
    awsRegion: 'us-east-1',
  })),
});
const lambdaContext = {} as Context;

describe('tenant-scoped queue workers (issue 14, item 2)', () => {
  it("delivers each tenant's messages, counts them and applies their receipts, with no IAM refusal on the way", async () => {
    for (const [key, id] of [
      [a.key, aMessage],
      [b.key, bMessage],
    ] as const) {
      await waitFor(
        async () => ((await statusOf(key, id)) === 'delivered' ? true : undefined),
        `${id} delivered`,
      );
    }
    // The tenants' own counters (their tenant-access sessions) and the gateway-wide ones (the
    // execution role's) were written: a refused count would only have been logged.
    const raw = localClients(gateway.regions.global).dynamodb;
    const usage = await raw.send(
      new QueryCommand({
        TableName: gateway.tables.messagesByJurisdiction.global,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `${a.tenantId}#usage` } },
      }),
    );
    expect(usage.Items?.map((i) => unmarshall(i))).toEqual([
      expect.objectContaining({ delivered_m: 1, sent_m: 1 }),
    ]);
    const day = new Date().toISOString().slice(0, 10);
    // Each tenant adds to its own shard's cell (usage#<day>#<shard>): the first tenant of a cell,
    // and a flag once a second one adds to it; never a list of tenants.
    const cells = await Promise.all(
      [a.tenantId, b.tenantId].map(async (tenantId) => {
        const out = await raw.send(
          new GetItemCommand({
            TableName: gateway.tables.messagesByJurisdiction.global,
            Key: { pk: { S: `usage#${day}#${aggregateShard(tenantId)}` }, sk: { S: 'US' } },
          }),
        );
        return unmarshall(out.Item!);
      }),
    );
    const firsts = new Set(cells.map((c) => c.delivered_t1));
    const flagged = cells.some((c) => c.delivered_n2 === true);
    // Two tenants: either two cells with one first tenant each, or one cell that knows it has several.
    expect(firsts.size === 2 || flagged).toBe(true);
    for (const c of cells) expect([a.tenantId, b.tenantId]).toContain(c.delivered_t1);
    for (const c of cells)
      expect(JSON.stringify(c).includes(a.tenantId) && JSON.stringify(c).includes(b.tenantId)).toBe(false);
    const workers = /dispatch|carrierevents|recordaudit/i;
    expect(gateway.iamDenials.filter((d) => workers.test(d.role.replace(/-/g, '')))).toEqual([]);
  });

  it("dispatch: IAM refuses another tenant's message and key in one tenant's scope; the carrier is never reached", async () => {
    const { w, inTenantScope } = await asFunction('dispatch-messages');
    const { makeDispatchMessage } = await import('../../functions/messages/use-cases/dispatch-message.ts');
    const { systemClock } = await import('../../layers/adapters/system.ts');
    const carrier: Carrier = { send: vi.fn(async () => ({ carrierMessageId: 'never' })) };
    const dispatch = makeDispatchMessage({
      messages: w.messageStore('global'),
      carrier,
      clock: systemClock,
      leaseMs: 30_000,
      maxReceiveCount: 5,
    });
    const before = gateway.iamDenials.length;
    await expect(
      inTenantScope(a.tenantId, () =>
        dispatch({ tenantId: b.tenantId, messageId: bMessage, jurisdiction: 'global' }, 1),
      ),
    ).rejects.toSatisfy(refusedInIam);
    expect(carrier.send).not.toHaveBeenCalled();

    await expect(openKeyringOf(gateway, { w, inTenantScope }, a.tenantId, b.tenantId)).rejects.toSatisfy(
      refusedInIam,
    );
    // Nor can it count for another tenant.
    await expect(
      inTenantScope(a.tenantId, () =>
        w.usageLedger('global').add([
          {
            tenantId: b.tenantId,
            jurisdiction: 'global',
            day: new Date().toISOString().slice(0, 10),
            country: 'US',
            mode: 'test',
            status: 'sent',
            messages: 1,
            segments: 1,
          },
        ]),
      ),
    ).rejects.toSatisfy(refusedInIam);
    expectTenantSessionDenials(gateway, before);
    expect(await statusOf(b.key, bMessage)).toBe('delivered');
  });

  it("dispatch: a record whose tenant's credentials cannot be had goes back to the queue (partial batch response), not lost", async () => {
    // STS unreachable: AssumeRole fails for every tenant.
    await asFunction('dispatch-messages', { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' });
    const { handler } = await import('../../functions/messages/dispatch-messages.ts');
    const event = sqsEvent([{ tenantId: a.tenantId, messageId: aMessage, jurisdiction: 'global' }]);
    const response = await handler(event, lambdaContext);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
  });

  it("record-audit-events: chains each tenant's entries in its own scope; IAM refuses another tenant's trail", async () => {
    const { w, inTenantScope } = await asFunction('record-audit-events');
    const { handler } = await import('../../functions/audit/record-audit-events.ts');
    const { ulidIds } = await import('../../layers/adapters/system.ts');
    const entry = (tenantId: string): AuditEntry => ({
      id: ulidIds.next('aud'),
      tenantId,
      at: new Date().toISOString(),
      actor: { type: 'api_key', keyId: 'key_test' },
      action: 'getMessage',
      route: 'GET /v1/messages/{id}',
      targets: [],
      ip: '127.0.0.1',
      userAgent: 'test',
      outcome: 'success',
      status: 200,
      jurisdiction: 'global',
    });
    const [forA, forB] = [entry(a.tenantId), entry(b.tenantId)];
    await handler(sqsEvent([forA, forB]), lambdaContext);
    const headOf = (tenantId: string) => inTenantScope(tenantId, () => w.auditStore('global').head(tenantId));
    expect((await headOf(a.tenantId))?.recentIds).toContain(forA.id);
    expect((await headOf(b.tenantId))?.recentIds).toContain(forB.id);

    const { makeAppendAudit } = await import('../../functions/audit/use-cases/audit-trail.ts');
    const { systemClock } = await import('../../layers/adapters/system.ts');
    const append = makeAppendAudit({
      stores: w.onDemand(w.auditStore),
      clock: systemClock,
      retentionDays: 1,
    });
    const before = gateway.iamDenials.length;
    await expect(inTenantScope(a.tenantId, () => append([entry(b.tenantId)]))).rejects.toSatisfy(
      refusedInIam,
    );
    expectTenantSessionDenials(gateway, before);
  });

  it("apply-carrier-events: IAM refuses another tenant's receipt in one tenant's scope", async () => {
    const { w, inTenantScope } = await asFunction('apply-carrier-events');
    const { makeApplyCarrierEvent } = await import('../../functions/messages/use-cases/dispatch-message.ts');
    const apply = makeApplyCarrierEvent({ messages: w.messageStore('global') });
    const before = gateway.iamDenials.length;
    await expect(
      inTenantScope(a.tenantId, () =>
        apply({
          kind: 'delivery_receipt',
          tenantId: b.tenantId,
          messageId: bMessage,
          jurisdiction: 'global',
          carrierMessageId: 'c',
          status: 'failed',
          occurredAt: new Date().toISOString(),
        }),
      ),
    ).rejects.toSatisfy(refusedInIam);
    expectTenantSessionDenials(gateway, before);
    expect(await statusOf(b.key, bMessage)).toBe('delivered');
  });

  it("apply-carrier-events: routes a carrier's reply by the gateway-wide look-up and stores it for the routed tenant only", async () => {
    await asFunction('apply-carrier-events');
    const { handler } = await import('../../functions/messages/apply-carrier-events.ts');
    const reply = {
      kind: 'inbound',
      from: PERSON,
      to: 'Globex',
      body: 'who is this',
      carrierMessageId: uniqueName('carrier'),
      receivedAt: new Date().toISOString(),
    };
    const before = gateway.iamDenials.length;
    const response = await handler(sqsEvent([reply]), lambdaContext);
    expect(response.batchItemFailures).toEqual([]);
    const inbound = (key: string) =>
      api.call<{ data: { body: string }[] }>('GET', '/v1/inbound', { key }).then((r) => r.body.data);
    expect((await inbound(b.key)).map((r) => r.body)).toEqual(['who is this']);
    expect(await inbound(a.key)).toEqual([]);
    expect(gateway.iamDenials.slice(before)).toEqual([]);
  });

  it("carrier-inbound: routes a carrier's reply by the gateway-wide look-up and stores it for the routed tenant only, with its tenant-access role", async () => {
    const token = await carrierToken(api, gateway.adminToken);
    const before = gateway.iamDenials.length;
    const reply = carrierReply(PERSON, 'Acme', 'who sent this');
    expect((await api.call('POST', '/carrier/v1/inbound', { token, body: reply })).status).toBe(202);
    const inbound = (key: string) =>
      api.call<{ data: { body: string }[] }>('GET', '/v1/inbound', { key }).then((r) => r.body.data);
    expect((await inbound(a.key)).map((r) => r.body)).toContain('who sent this');
    expect((await inbound(b.key)).map((r) => r.body)).not.toContain('who sent this');
    expect(gateway.iamDenials.slice(before)).toEqual([]);
    // Its execution role holds no grant on the tenant's data: the reply was stored (sealed under
    // the tenant's key) through the tenant-access role.
    expect(envOf('carrier-inbound').TENANT_ACCESS_ROLE_ARN).toMatch(/TenantAccess/);
  });

  it("the workers' execution roles read no tenant item themselves, only gateway-wide ones", async () => {
    for (const name of [
      'dispatch-messages',
      'record-audit-events',
      'apply-carrier-events',
      'carrier-inbound',
    ]) {
      const env = envOf(name);
      const execution = executionDynamodb(gateway, env);
      await expect(
        execution.send(
          new GetItemCommand({
            TableName: gateway.tables.messagesByJurisdiction.global,
            Key: { pk: { S: a.tenantId }, sk: { S: `MSG#${aMessage}` } },
          }),
        ),
        name,
      ).rejects.toMatchObject({ name: 'AccessDeniedException' });
      execution.destroy();
    }
    const dispatchRole = executionDynamodb(gateway, envOf('dispatch-messages'));
    await expect(
      dispatchRole.send(
        new UpdateItemCommand({
          TableName: gateway.tables.messagesByJurisdiction.global,
          Key: { pk: { S: `${a.tenantId}#usage` }, sk: { S: 'x' } },
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': { N: '1' } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    dispatchRole.destroy();
  });
});
