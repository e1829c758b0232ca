import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MessageIdParams } from '../../functions/messages/schemas.ts';
import { makeGetMessage } from '../../functions/messages/use-cases/read-messages.ts';
import { lambdaContext } from '../../infra/local/http-gateway.ts';
import { NotFoundError } from '../../layers/core/errors.ts';
import {
  type AuditInput,
  audited,
  parseWith,
  type TenantEvent,
  tenantRoute,
} from '../../layers/http/handler.ts';
import { ROUTES } from '../../layers/http/routes.ts';
import { apiEvent } from '../support/api-event.ts';
import { FakeClock, FakeMessageStore } from '../support/fakes.ts';

const TENANT = 'ten_01JD5Z8Q2N3M4K5J6H7G8F9E0D';
const KEY = 'key_01JD5Z8Q2N3M4K5J6H7G8F9E0D';
const MESSAGE = 'msg_01JD5Z8Q2N3M4K5J6H7G8F9E0D';
/** Every part of the number that must never be kept. */
const NUMBER = /12025550100|2025550100|5550100|202.555.0100/;

/** An API Gateway v2 event for a route, as the authorizer leaves it (event factory). */
function event(
  routeKey: string,
  pathParameters: Record<string, string>,
  overrides: {
    userAgent?: string;
    sourceIp?: string;
    residency?: 'strict' | 'forward';
    requestId?: string;
  } = {},
): TenantEvent {
  return apiEvent({
    routeKey,
    pathParameters,
    headers: { 'user-agent': overrides.userAgent ?? 'acme-backend/2.1' },
    sourceIp: overrides.sourceIp ?? '203.0.113.9',
    userAgent: '',
    requestId: overrides.requestId ?? 'JZ0i5hmuIAMEJ2w=',
    authorizer: {
      authenticated: true,
      tenantId: TENANT,
      keyId: KEY,
      mode: 'live',
      scopes: 'admin',
      bodyRetentionDays: 7,
      metadataRetentionDays: 90,
      residency: overrides.residency ?? 'forward',
    },
  });
}

/** Runs `run` as an audited call and returns the entry it recorded. */
async function entryOf(
  e: APIGatewayProxyEventV2,
  run: () => Promise<{ status: number; body?: unknown }>,
  who: Parameters<typeof audited>[2] = { tenantId: TENANT, actor: { type: 'api_key', keyId: KEY } },
): Promise<AuditInput> {
  const entries: AuditInput[] = [];
  await audited(e, { audit: async (entry) => void entries.push(entry) }, who, run).catch(() => undefined);
  expect(entries).toHaveLength(1);
  return entries[0]!;
}

/** The routes whose path names an id (a phone number in `{phone}` is left out altogether). */
const ID_ROUTES = ROUTES.map((r) => ({
  routeKey: `${r.method} ${r.path}`,
  names: [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).filter((n) => n !== 'phone'),
})).filter((r) => r.names.length > 0);

describe('audit entries never keep a phone number', () => {
  it('covers every route with an id in its path', () => {
    expect(ID_ROUTES.map((r) => r.routeKey)).toEqual(
      expect.arrayContaining([
        'GET /v1/messages/{id}',
        'DELETE /v1/messages/{id}/body',
        'GET /v1/webhooks/{webhookId}/deliveries',
        'DELETE /admin/tenants/{tenantId}/keys/{keyId}',
        'POST /public/v1/verifications/{id}/confirm',
      ]),
    );
  });

  for (const { routeKey, names } of ID_ROUTES) {
    it(`records a number put in an id's place as invalid-id: ${routeKey}`, async () => {
      for (const value of ['+12025550100', '%2B12025550100', '+1 (202) 555-0100', '12025550100']) {
        const params = Object.fromEntries(names.map((n) => [n, value]));
        const entry = await entryOf(event(routeKey, params), async () => {
          throw new NotFoundError('thing', value);
        });
        expect(entry.targets).toEqual(names.map(() => 'invalid-id'));
        expect(JSON.stringify(entry)).not.toMatch(NUMBER);
      }
    });
  }

  it('keeps well-formed ids, named or created, and the request id as API Gateway made it', async () => {
    const requestId = 'c3b1e5a0-1234-4567-8901-23456789abcd';
    const entry = await entryOf(event('GET /v1/messages/{id}', { id: MESSAGE }, { requestId }), async () => ({
      status: 200,
      body: { id: MESSAGE, jurisdiction: 'eu' },
    }));
    expect(entry).toMatchObject({ targets: [MESSAGE], dataJurisdiction: 'eu', status: 200, requestId });
  });

  it("answers the caller's own mistake with a field-level 422 and audits it without the number", async () => {
    const entries: AuditInput[] = [];
    const handler = tenantRoute(
      'read',
      async (e) => {
        parseWith(MessageIdParams, e.pathParameters ?? {}, 'parameter');
        return { status: 200 };
      },
      { audit: async (entry) => void entries.push(entry) },
    );
    const res = await handler(
      event('GET /v1/messages/{id}', { id: '+12025550100' }),
      lambdaContext('t', 1000),
    );
    expect(res.statusCode).toBe(422);
    expect(JSON.parse(String(res.body)).errors).toEqual([
      { parameter: 'id', detail: 'id: a message id: msg_ and 26 letters and digits' },
    ]);
    expect(entries).toEqual([
      expect.objectContaining({ action: 'getMessage', targets: ['invalid-id'], status: 422 }),
    ]);
    expect(JSON.stringify(entries)).not.toMatch(NUMBER);
  });

  it("puts an operator's call on a tenant id that is a number in the operator's trail, not a trail named by it", async () => {
    const entry = await entryOf(
      event('GET /admin/tenants/{tenantId}', { tenantId: '+12025550100' }),
      async () => ({ status: 422 }),
      {
        tenantId: '+12025550100',
        actor: { type: 'operator', principal: 'arn:aws:iam::123456789012:user/ops' },
      },
    );
    expect(entry).toMatchObject({
      tenantId: 'operator',
      targets: ['invalid-id'],
      actor: { type: 'operator', principal: 'arn:aws:iam::123456789012:user/ops' },
    });
  });

  it('keeps no number from what the caller chose: user agent, an assumed-role session name', async () => {
    const entry = await entryOf(
      event(
        'GET /v1/messages/{id}',
        { id: MESSAGE },
        { userAgent: 'acme/2.1 (call +1 202-555-0100) Chrome/120.0.0.0', sourceIp: '+12025550100' },
      ),
      async () => ({ status: 200 }),
      {
        tenantId: TENANT,
        actor: { type: 'operator', principal: 'arn:aws:sts::123456789012:assumed-role/Ops/+12025550100' },
      },
    );
    expect(entry.userAgent).toBe('acme/2.1 (call [redacted]) Chrome/120.0.0.0');
    expect(entry.ip).toBe('unknown');
    expect(entry.actor).toEqual({
      type: 'operator',
      principal: 'arn:aws:sts::123456789012:assumed-role/Ops/[redacted]',
    });
    expect(JSON.stringify(entry)).not.toMatch(NUMBER);
  });
});

describe("a strict tenant's read of an id at the global endpoint", () => {
  const clock = new FakeClock();
  const stores = { global: new FakeMessageStore(), eu: new FakeMessageStore() };
  const getMessage = makeGetMessage({ messages: stores, clock, endpoints: {} });
  const read = (residency: 'strict' | 'forward') =>
    entryOf(event('GET /v1/messages/{id}', { id: MESSAGE }, { residency }), async () => ({
      status: 200,
      body: await getMessage(
        {
          tenantId: TENANT,
          keyId: KEY,
          mode: 'live',
          scopes: ['read'],
          retention: { bodyDays: 7, metadataDays: 90 },
          residency,
        },
        MESSAGE,
        'global',
      ),
    }));

  it('is audited at the global endpoint without the id, which may be an EU message the global region may not look for', async () => {
    const entry = await read('strict');
    expect(entry).toMatchObject({ status: 404, targets: ['withheld-id'] });
    expect(entry.dataJurisdiction).toBeUndefined();
    expect(JSON.stringify(entry)).not.toContain(MESSAGE);
  });

  it('is audited at the endpoint for a tenant whose reads search both jurisdictions', async () => {
    const entry = await read('forward');
    expect(entry).toMatchObject({ status: 404, targets: [MESSAGE] });
    expect(entry.dataJurisdiction).toBeUndefined();
  });
});
