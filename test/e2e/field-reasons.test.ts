import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { type ApiResponse, client, expectProblem, issueOwnerKey, onboard } from '../support/http.ts';
import { NO_CACHES, startTestGateway } from '../support/local-gateway.ts';

let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let tenant: { tenantId: string; key: string };
let owner: string;

beforeAll(async () => {
  gateway = await startTestGateway('fields', {
    ...NO_CACHES,
  });
  api = client(gateway.url);
  tenant = await onboard(api, gateway.adminToken, { name: 'Fields', senders: [] });
  owner = (await issueOwnerKey(api, gateway.adminToken, tenant.tenantId)).secret;
});

afterAll(async () => {
  await gateway?.stop();
});

/** Where each field-level reason points: a body pointer, a parameter's or a header's name. */
const fieldsOf = (res: ApiResponse) =>
  ((res.body.errors ?? []) as { pointer?: string; parameter?: string; header?: string }[])
    .map((e) => e.pointer ?? e.parameter ?? e.header)
    .sort();

describe('a 422 over HTTP', () => {
  // Each request has a field its route's schema refuses and one a check further on refused (a
  // number, a URL, a cursor, a date range, a confirmation), or bad fields in two parts of the
  // request (path, query, header, body): the answer names every one of them at once.
  it.each([
    {
      what: 'erasure: a number that is no number, and an unknown reason',
      call: () => api.call('DELETE', '/v1/subjects/%2B1234?reason=whim', { key: owner }),
      fields: ['phone', 'reason'],
    },
    {
      what: 'opt-out: a number that is no number, and an unknown scope',
      call: () =>
        api.call('POST', '/v1/opt-outs', { key: tenant.key, body: { phone: '12345', scope: 'some' } }),
      fields: ['/phone', '/scope'],
    },
    {
      what: 'listing: a limit out of range, and a cursor the API never gave',
      call: () => api.call('GET', '/v1/messages?limit=0&cursor=garbage', { key: tenant.key }),
      fields: ['cursor', 'limit'],
    },
    {
      what: 'usage: a period that ends before it starts, and an unknown mode',
      call: () => api.call('GET', '/v1/usage?from=2026-03-01&to=2026-01-01&mode=demo', { key: owner }),
      fields: ['mode', 'to'],
    },
    {
      what: 'webhook: an http URL, and no events',
      call: () =>
        api.call('POST', '/v1/webhooks', {
          key: owner,
          body: { url: 'http://hooks.example.com/sms', events: [] },
        }),
      fields: ['/events', '/url'],
    },
    {
      what: 'send: a malformed Idempotency-Key, and a body without its fields',
      call: () =>
        api.call('POST', '/v1/messages', {
          key: tenant.key,
          headers: { 'idempotency-key': 'with space' },
          body: { to: '+12025550100', from: 'Fields' },
        }),
      fields: ['/body', 'Idempotency-Key'],
    },
    {
      what: 'public verification: a number that is no number, and identify without what to identify',
      call: () =>
        api.call('POST', '/public/v1/verifications', { body: { phone: '555', purpose: 'identify' } }),
      fields: ['/phone', '/reference'],
    },
    {
      what: 'admin: a malformed tenant id in the path, and an empty key name in the body',
      call: () =>
        api.call('POST', '/admin/tenants/ten_bad/keys', { token: gateway.adminToken, body: { name: '' } }),
      fields: ['/name', 'tenantId'],
    },
    {
      what: 'admin: closing with a confirmation of another tenant, and an unknown field',
      call: () =>
        api.call('POST', `/admin/tenants/${tenant.tenantId}/close`, {
          token: gateway.adminToken,
          body: { confirm: 'ten_OTHER', force: true },
        }),
      fields: ['/confirm', '/force'],
    },
  ])('names every invalid field at once: $what', async ({ call, fields }) => {
    const res = await call();
    expectProblem(res, 422, 'validation-error');
    expect(fieldsOf(res)).toEqual(fields);
  });
});
