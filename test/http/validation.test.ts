import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { AuditQuery } from '../../functions/audit/schemas.ts';
import { ListMessagesQuery } from '../../functions/messages/schemas.ts';
import { parseSendRequest, readSendBatch, readSendMessage } from '../../functions/messages/send-request.ts';
import { CloseTenantRequest, confirmsTenant, TenantIdParams } from '../../functions/tenants/schemas.ts';
import { UsageQuery } from '../../functions/usage/schemas.ts';
import type { FieldIssue } from '../../layers/core/errors.ts';
import { ValidationError } from '../../layers/core/errors.ts';
import {
  idempotencyKeyFrom,
  parseRequest,
  parseWith,
  type RequestSchemas,
} from '../../layers/http/handler.ts';
import { routeKey } from '../../layers/http/route.ts';
import { ROUTES } from '../../layers/http/routes.ts';

/** The field-level reasons a 422 would carry for this input. */
function issues(run: () => unknown): FieldIssue[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

const send = (body: unknown) => {
  const parsed = parseSendRequest(body);
  if (parsed.ok) throw new Error('expected the request to be refused');
  return parsed.issues;
};
const query = (schema: Parameters<typeof parseWith>[0], q: Record<string, string>) =>
  issues(() => parseWith(schema, q, 'parameter'));

describe('a 422 for a message body', () => {
  it('lists every invalid field at once, the unknown key by its own name', () => {
    const found = send({ to: '12345', from: '!!!!!!!!!!!!!!!', body: 123, extra: 1 });
    expect(found.map((i) => i.pointer).sort()).toEqual(['/body', '/extra', '/from', '/to']);
    expect(found.find((i) => i.pointer === '/extra')!.detail).toBe("'extra' is not a field of this request");
  });

  it('refuses a body with a lone surrogate (it would be stored and sent as U+FFFD)', () => {
    const body = JSON.parse('{"to":"+12025550100","from":"Acme","body":"hi \\ud83d there"}');
    expect(send(body)).toEqual([{ pointer: '/body', detail: expect.stringContaining('surrogate') }]);
    // A whole pair (an emoji) is fine.
    expect(parseSendRequest({ to: '+12025550100', from: 'Acme', body: 'hi 😀' }).ok).toBe(true);
  });

  it('points at the whole document, not at a member named "", when the body is not an object', () => {
    expect(send('a string').map((i) => i.pointer)).toEqual(['']);
  });
});

describe('a 422 for a query parameter or header', () => {
  it.each([
    [ListMessagesQuery, { limit: 'abc' }, 'limit: a whole number from 1 to 100'],
    [ListMessagesQuery, { limit: '1000' }, 'limit: a whole number from 1 to 100'],
    [ListMessagesQuery, { limit: '2.5' }, 'limit: a whole number from 1 to 100'],
    [
      ListMessagesQuery,
      { status: 'lost' },
      'status: one of queued, sent, delivered, failed, undeliverable, quarantined',
    ],
    [ListMessagesQuery, { jurisdiction: 'mars' }, 'jurisdiction: one of global, eu'],
    [AuditQuery, { from: 'yesterday' }, 'from: a date and time in ISO 8601, such as 2026-11-01T00:00:00Z'],
    [UsageQuery, { from: '1 Nov' }, 'from: a date in ISO 8601, such as 2026-11-01'],
    [AuditQuery, { limit: '0' }, 'limit: a whole number from 1 to 1000'],
  ] as const)('names the parameter and what it expects: %#', (schema, q, detail) => {
    const [issue, ...rest] = query(schema, q);
    expect(rest).toEqual([]);
    expect(issue).toEqual({ parameter: Object.keys(q)[0], detail });
  });

  it('names an unknown parameter, never "(query)"', () => {
    expect(query(ListMessagesQuery, { colour: 'red' })).toEqual([
      {
        parameter: 'colour',
        detail: 'colour: not a parameter of this route (status, jurisdiction, limit, cursor)',
      },
    ]);
  });

  it('says what Idempotency-Key expects', () => {
    const found = issues(() => idempotencyKeyFrom({ headers: { 'idempotency-key': 'with space' } } as never));
    expect(found).toEqual([
      { header: 'Idempotency-Key', detail: 'Idempotency-Key: 1 to 255 visible ASCII characters' },
    ]);
  });
});

/** A request as API Gateway hands it to a route's function (event factory). */
function request(
  key: string,
  r: {
    params?: Record<string, string>;
    query?: Record<string, string>;
    body?: unknown;
    headers?: Record<string, string>;
  },
): APIGatewayProxyEventV2 {
  return {
    routeKey: key,
    headers: { ...(r.body === undefined ? {} : { 'content-type': 'application/json' }), ...r.headers },
    pathParameters: r.params,
    queryStringParameters: r.query,
    body: r.body === undefined ? undefined : JSON.stringify(r.body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

/** Reads a request the way its route's function does: the route table's schemas for each part. */
function readAsRouted(event: APIGatewayProxyEventV2) {
  const route = ROUTES.find((r) => routeKey(r) === event.routeKey)!;
  const schemas: RequestSchemas = {};
  if (route.params) schemas.params = route.params;
  if (route.query) schemas.query = route.query;
  if (route.body) schemas.body = route.body;
  return parseRequest(event, schemas);
}

/** The functions that read more than the route's schemas say. */
const OWN_READERS: Record<string, (event: APIGatewayProxyEventV2) => unknown> = {
  'POST /v1/messages': readSendMessage,
  'POST /v1/messages/batch': readSendBatch,
  'POST /admin/tenants/{tenantId}/close': (event) =>
    parseRequest(event, { params: TenantIdParams, body: CloseTenantRequest }, confirmsTenant),
};

const TENANT = 'ten_01KB0000000000000000000000';
const FUTURE = '2999-01-01T00:00:00Z';
const IDENTITY = {
  companyName: 'Acme Ltd',
  registrationNumber: 'HRB 1',
  address: '1 Main Street',
  contactName: 'Ada',
  contactEmail: 'ada@acme.test',
  useCase: 'Order notifications',
};

/**
 * For every route with a body or a query: a request with two or more independent bad fields. Most
 * pair a field the route's schema refuses with one a check further on refused (in the use case,
 * the store, or the function itself: numbers, sender IDs, keywords, URLs, date ranges, cursors,
 * confirmations); the others pair bad fields in two parts of the request (path, query, header,
 * body). The 422 must name every one of them at once.
 */
const TABLE: [string, Parameters<typeof request>[1], string[]][] = [
  [
    'POST /v1/messages',
    { headers: { 'idempotency-key': 'with space' }, body: { to: '12345', from: 'Acme', body: 'hi' } },
    ['/to', 'Idempotency-Key'],
  ],
  [
    'POST /v1/messages/batch',
    { headers: { 'idempotency-key': 'with space' }, body: { messages: [] } },
    ['/messages', 'Idempotency-Key'],
  ],
  ['GET /v1/messages', { query: { limit: '0', cursor: 'garbage' } }, ['cursor', 'limit']],
  [
    'DELETE /v1/subjects/{phone}',
    { params: { phone: '+1234' }, query: { reason: 'whim' } },
    ['phone', 'reason'],
  ],
  ['GET /v1/inbound', { query: { limit: '101', cursor: 'garbage' } }, ['cursor', 'limit']],
  ['POST /v1/opt-outs', { body: { phone: '12345', scope: 'some' } }, ['/phone', '/scope']],
  [
    'POST /v1/consents',
    { body: { phone: '+1 202 555', source: '', disclosureVersion: 'v1', occurredAt: FUTURE } },
    ['/occurredAt', '/phone', '/source'],
  ],
  [
    'POST /v1/sender-ids',
    { body: { value: '!!!', countries: ['usa'], identity: IDENTITY } },
    ['/countries/0', '/value'],
  ],
  [
    'PUT /v1/settings/replies',
    { body: { helpText: 5, keywords: { optOut: ['START'], optIn: [], help: [] } } },
    ['/helpText', '/keywords/optOut/0'],
  ],
  [
    'POST /public/v1/verifications',
    { body: { phone: '555', purpose: 'identify', extra: 1 } },
    ['/extra', '/phone', '/reference'],
  ],
  [
    'POST /public/v1/verifications/{id}/confirm',
    { params: { id: 'vrf_1' }, body: { code: '12' } },
    ['/code', 'id'],
  ],
  [
    'POST /carrier/v1/inbound',
    { body: { from: '+12025550100', to: '', body: 'STOP', carrierMessageId: 'c1', receivedAt: 'now' } },
    ['/receivedAt', '/to'],
  ],
  [
    'POST /admin/tenants',
    {
      body: {
        displayName: 'Acme',
        legalName: 'Acme Ltd',
        contactEmail: 5,
        homeJurisdiction: 'global',
        retention: { bodyDays: 30, metadataDays: 10 },
      },
    },
    ['/contactEmail', '/retention/bodyDays'],
  ],
  [
    'POST /admin/tenants/{tenantId}/keys',
    { params: { tenantId: 'ten_1' }, body: { name: '' } },
    ['/name', 'tenantId'],
  ],
  [
    'POST /admin/tenants/{tenantId}/keys/{keyId}/rotate',
    { params: { tenantId: TENANT, keyId: 'key_1' }, body: { graceSeconds: -1 } },
    ['/graceSeconds', 'keyId'],
  ],
  [
    'PUT /admin/tenants/{tenantId}/policy',
    {
      params: { tenantId: TENANT },
      body: { retention: { bodyDays: 30, metadataDays: 10 }, residency: 'lax' },
    },
    ['/residency', '/retention/bodyDays'],
  ],
  [
    'PUT /admin/tenants/{tenantId}/controls',
    { params: { tenantId: 'ten_1' }, body: { rateLimit: { perMinute: 60, burst: 0 } } },
    ['/rateLimit/burst', 'tenantId'],
  ],
  [
    'POST /admin/tenants/{tenantId}/sender-ids/{senderId}/decision',
    { params: { tenantId: TENANT, senderId: 'sid_1' }, body: { decision: 'rejected' } },
    ['/reason', 'senderId'],
  ],
  ['GET /v1/audit-events', { query: { format: 'xml', cursor: 'garbage' } }, ['cursor', 'format']],
  [
    'GET /v1/audit-events/verification',
    { query: { jurisdiction: 'mars', colour: 'red' } },
    ['colour', 'jurisdiction'],
  ],
  ['GET /v1/usage', { query: { from: '2026-03-01', to: '2026-01-01', mode: 'demo' } }, ['mode', 'to']],
  ['POST /v1/webhooks', { body: { url: 'http://hooks.example.com/sms', events: [] } }, ['/events', '/url']],
  [
    'POST /v1/webhooks/{webhookId}/rotate-secret',
    { params: { webhookId: 'whk_1' }, body: { graceSeconds: -1 } },
    ['/graceSeconds', 'webhookId'],
  ],
  [
    'GET /v1/webhooks/{webhookId}/deliveries',
    { params: { webhookId: 'whk_1' }, query: { limit: '0', cursor: 'garbage' } },
    ['cursor', 'limit', 'webhookId'],
  ],
  ['GET /admin/analytics', { query: { from: '2026-01-01', to: '2026-12-31', k: '1' } }, ['from', 'k']],
  ['GET /admin/audit-events', { query: { tenantId: 'ten_1', cursor: 'garbage' } }, ['cursor', 'tenantId']],
  [
    'POST /admin/tenants/{tenantId}/close',
    { params: { tenantId: TENANT }, body: { confirm: 'ten_OTHER', force: true } },
    ['/confirm', '/force'],
  ],
];

describe('a 422 of any route', () => {
  it('has a case in this table for every route with a body or a query', () => {
    const withInput = ROUTES.filter((r) => r.body || r.query).map(routeKey);
    expect(TABLE.map(([key]) => key).sort()).toEqual(withInput.sort());
  });

  it.each(TABLE)('%s: lists every invalid field at once, each with its own reason', (key, r, fields) => {
    const read = OWN_READERS[key] ?? readAsRouted;
    const found = issues(() => read(request(key, r)));
    expect(found.map((i) => i.pointer ?? i.parameter ?? i.header).sort()).toEqual(fields);
    for (const issue of found) {
      // Each reason names its own field (a pointer's last segment, a parameter's or header's name).
      const name = issue.parameter ?? issue.header ?? issue.pointer!.split('/').filter(Boolean).at(0)!;
      expect(issue.detail).toContain(name);
    }
  });
});
