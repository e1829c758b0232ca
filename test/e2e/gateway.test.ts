import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { deadLetter as deadLetterOn, localClients, uniqueName } from '../support/aws.ts';
import { client, expectProblem, onboard, waitFor } from '../support/http.ts';
import { startTestGateway } from '../support/local-gateway.ts';

type Message = { id: string; status: string; error: { code: string } | null; [k: string]: unknown };

const { sqs } = localClients();
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let acme: Awaited<ReturnType<typeof onboard>>;
let globex: Awaited<ReturnType<typeof onboard>>;

beforeAll(async () => {
  gateway = await startTestGateway('e2e', {
    authorizerCacheSeconds: 1,
    dispatch: { visibilityTimeoutSeconds: 2, maxReceiveCount: 3 },
  });
  api = client(gateway.url);
  // Forward: the batch test sends an EU subject through the global endpoint.
  acme = await onboard(api, gateway.adminToken, { name: 'Acme', residency: 'forward' });
  globex = await onboard(api, gateway.adminToken, { name: 'Globex' });
});

afterAll(async () => {
  await gateway?.stop();
});

const send = (key: string, body: unknown, headers?: Record<string, string>) =>
  api.call<{ message: Message }>('POST', '/v1/messages', { key, body, headers });

const finalStatus = (key: string, id: string, timeoutMs?: number) =>
  waitFor(
    async () => {
      const res = await api.call<Message>('GET', `/v1/messages/${id}`, { key });
      return ['delivered', 'failed', 'undeliverable'].includes(res.body.status) ? res.body : undefined;
    },
    `message ${id} to reach a final status`,
    timeoutMs,
  );

describe('sending an SMS end to end on the local gateway', () => {
  it('accepts a message, reports encoding and segments, and delivers it through the sandbox carrier', async () => {
    const res = await send(acme.key, {
      to: '+12025550100',
      from: 'Acme',
      body: 'Your code is 123456',
      reference: 'o-1',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/messages/${res.body.message.id}`);
    expect(res.body.message).toMatchObject({
      status: 'queued',
      encoding: 'GSM-7',
      segments: 1,
      characters: 19,
      reference: 'o-1',
      category: 'transactional',
      jurisdiction: 'global',
    });
    const done = await finalStatus(acme.key, res.body.message.id);
    expect(done).toMatchObject({ status: 'delivered', error: null });
    expect(Date.parse(String(done.sentAt))).toBeLessThanOrEqual(Date.parse(String(done.deliveredAt)));
  });

  it.each([
    ['+12025550101', 'failed', 'carrier_error'],
    ['+12025550102', 'undeliverable', 'unknown_subscriber'],
    ['+12025550104', 'failed', 'invalid_destination'],
  ])('reports the sandbox outcome of %s as %s with code %s', async (to, status, code) => {
    const res = await send(acme.key, { to, from: 'Acme', body: 'outcome test' });
    const done = await finalStatus(acme.key, res.body.message.id);
    expect(done).toMatchObject({ status, error: { code } });
  });

  it('counts UCS-2 segments for a long message with an emoji', async () => {
    const res = await send(acme.key, { to: '+12025550100', from: 'Acme', body: `${'Привет '.repeat(10)}😀` });
    expect(res.body.message).toMatchObject({ encoding: 'UCS-2', segments: 2 });
  });
});

/** Waits for a record on the dispatch DLQ whose body matches. */
const deadLetter = (matches: (body: string) => boolean) =>
  deadLetterOn(sqs, gateway.queues.dispatchDlq, matches);

describe('delivery semantics', () => {
  it('dead-letters a message the carrier never takes, marked failed with a reason', async () => {
    const res = await send(acme.key, { to: '+12025550105', from: 'Acme', body: 'carrier down' });
    const done = await finalStatus(acme.key, res.body.message.id);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'carrier_unavailable' } });
    const dead = await deadLetter((body) => body.includes(res.body.message.id));
    expect(JSON.parse(dead.Body!)).toMatchObject({ messageId: res.body.message.id });
  });

  it('dead-letters a poison record that can never be processed', async () => {
    await sqs.send(
      new SendMessageCommand({ QueueUrl: gateway.queues.dispatch, MessageBody: '{"not":"a reference"' }),
    );
    const dead = await deadLetter((body) => body === '{"not":"a reference"');
    expect(dead).toBeDefined();
  });
});

describe('tenant isolation', () => {
  it('answers 404 for another tenant message id and never lists it', async () => {
    const mine = await send(acme.key, { to: '+12025550100', from: 'Acme', body: 'private' });
    const theirs = await api.call('GET', `/v1/messages/${mine.body.message.id}`, { key: globex.key });
    expectProblem(theirs, 404, 'not-found');
    const list = await api.call<{ data: Message[] }>('GET', '/v1/messages?limit=100', { key: globex.key });
    expect(list.body.data.map((m) => m.id)).not.toContain(mine.body.message.id);
  });

  it('ignores any tenant id a caller puts in the request', async () => {
    const res = await send(globex.key, {
      to: '+12025550100',
      from: 'Globex',
      body: 'x',
      tenantId: acme.tenantId,
    });
    expectProblem(res, 422, 'validation-error');
  });
});

describe('bad input gets a problem+json with field-level reasons', () => {
  it('names each invalid field', async () => {
    const res = await send(acme.key, { to: '0049151', from: 'Far too long sender', body: '' });
    expectProblem(res, 422, 'validation-error');
    expect(
      (res.body as unknown as { errors: { pointer: string }[] }).errors.map((e) => e.pointer).sort(),
    ).toEqual(['/body', '/from', '/to']);
  });

  it('refuses wrong types, unknown fields and missing fields', async () => {
    const res = await send(acme.key, { to: 4915112345678, from: 'Acme', colour: 'red' });
    expectProblem(res, 422, 'validation-error');
    const pointers = (res.body as unknown as { errors: { pointer: string }[] }).errors.map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/to', '/body', '/colour']));
  });

  it('refuses a body that is not JSON, or not sent as JSON', async () => {
    expectProblem(
      await api.call('POST', '/v1/messages', { key: acme.key, raw: '{"to":' }),
      400,
      'malformed-request',
    );
    expectProblem(
      await api.call('POST', '/v1/messages', {
        key: acme.key,
        raw: 'to=1',
        headers: { 'content-type': 'text/plain' },
      }),
      400,
      'malformed-request',
    );
  });

  it('refuses a malformed message id and a bad list query', async () => {
    expectProblem(
      await api.call('GET', '/v1/messages/not-an-id', { key: acme.key }),
      422,
      'validation-error',
    );
    expectProblem(
      await api.call('GET', '/v1/messages?limit=1000', { key: acme.key }),
      422,
      'validation-error',
    );
    expectProblem(
      await api.call('GET', '/v1/messages?status=lost', { key: acme.key }),
      422,
      'validation-error',
    );
  });
});

describe('API keys', () => {
  it('answers 401 for a missing, malformed or unknown key', async () => {
    const missing = await api.call('POST', '/v1/messages', { body: {} });
    expect(missing.status).toBe(401);
    expectProblem(await send('sk_live_nope', {}), 401, 'unauthorized');
    const forged = `sk_live_${'A'.repeat(43)}`;
    expectProblem(await send(forged + acme.key.slice(-6), {}), 401, 'unauthorized');
  });

  it('stops a revoked key (within the authorizer cache time)', async () => {
    const extra = await api.call<{ id: string; secret: string }>(
      'POST',
      `/admin/tenants/${acme.tenantId}/keys`,
      {
        token: gateway.adminToken,
        body: { name: 'to revoke', scopes: ['read'] },
      },
    );
    expect((await api.call('GET', '/v1/messages', { key: extra.body.secret })).status).toBe(200);
    const revoked = await api.call('DELETE', `/admin/tenants/${acme.tenantId}/keys/${extra.body.id}`, {
      token: gateway.adminToken,
    });
    expect(revoked.body).toMatchObject({ status: 'revoked' });
    await new Promise((r) => setTimeout(r, 1_100));
    expectProblem(await api.call('GET', '/v1/messages', { key: extra.body.secret }), 401, 'unauthorized');
  });

  it('refuses an action outside the key scopes with 403', async () => {
    const reader = await api.call<{ secret: string }>('POST', `/admin/tenants/${acme.tenantId}/keys`, {
      token: gateway.adminToken,
      body: { name: 'reader', scopes: ['read'] },
    });
    expectProblem(
      await send(reader.body.secret, { to: '+12025550100', from: 'Acme', body: 'x' }),
      403,
      'forbidden',
    );
  });

  it('keeps admin routes away from tenant keys', async () => {
    const res = await api.call('GET', '/admin/tenants', { key: acme.key });
    expect(res.status).toBe(403);
    const list = await api.call<{ data: { secret?: string; hint: string }[] }>(
      'GET',
      `/admin/tenants/${acme.tenantId}/keys`,
      {
        token: gateway.adminToken,
      },
    );
    expect(list.body.data.length).toBeGreaterThan(0);
    expect(JSON.stringify(list.body)).not.toContain(acme.key);
  });
});

describe('Idempotency-Key', () => {
  it('replays the original response and sends once', async () => {
    const body = { to: '+12025550100', from: 'Acme', body: 'idempotent', reference: uniqueName('ref') };
    const first = await send(acme.key, body, { 'idempotency-key': 'order-7' });
    const replay = await send(acme.key, body, { 'idempotency-key': 'order-7' });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const list = await api.call<{ data: Message[] }>('GET', '/v1/messages?limit=100', { key: acme.key });
    expect(list.body.data.filter((m) => m.reference === body.reference)).toHaveLength(1);
  });

  it('refuses the same key with another body', async () => {
    await send(acme.key, { to: '+12025550100', from: 'Acme', body: 'one' }, { 'idempotency-key': 'order-8' });
    const res = await send(
      acme.key,
      { to: '+12025550100', from: 'Acme', body: 'two' },
      { 'idempotency-key': 'order-8' },
    );
    expectProblem(res, 422, 'idempotency-key-reused');
  });
});

describe('POST /v1/messages/batch', () => {
  it('accepts valid items even when others are refused, with a result per item', async () => {
    const res = await api.call<{
      accepted: number;
      rejected: number;
      results: Array<Record<string, unknown>>;
    }>('POST', '/v1/messages/batch', {
      key: acme.key,
      body: {
        messages: [
          { to: '+12025550100', from: 'Acme', body: 'first' },
          { to: '+1', from: 'Acme', body: 'bad number' },
          'not an object',
          { to: '+4915112345678', from: 'Acme', body: 'third' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 2 });
    expect(res.body.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'rejected', 'accepted']);
    expect(res.body.results[1]).toMatchObject({
      index: 1,
      problem: { status: 422, errors: [{ pointer: '/messages/1/to' }] },
    });
    expect(res.body.results[2]).toMatchObject({ problem: { errors: [{ pointer: '/messages/2' }] } });
    const accepted = res.body.results[3] as { message: { id: string } };
    await expect(finalStatus(acme.key, accepted.message.id)).resolves.toMatchObject({ status: 'delivered' });
  });

  it('takes 1,000 messages in one call and refuses 1,001', async () => {
    // A thousand different recipients: one recipient would pass its flood limit.
    const many = Array.from({ length: 1000 }, (_, i) => ({
      to: `+1202410${String(i).padStart(4, '0')}`,
      from: 'Acme',
      body: `bulk ${i}`,
    }));
    const res = await api.call<{ accepted: number }>('POST', '/v1/messages/batch', {
      key: acme.key,
      body: { messages: many },
    });
    expect(res.body.accepted).toBe(1000);
    const over = await api.call('POST', '/v1/messages/batch', {
      key: acme.key,
      body: { messages: [...many, many[0]] },
    });
    expectProblem(over, 422, 'validation-error');
  });
});

describe('listing', () => {
  // Its messages queue behind the 1,000 of the test before, which the dispatch worker drains at
  // the template's maximum concurrency (2): on a loaded machine that takes more than 20 s.
  it('pages newest first with a cursor and filters by status', { timeout: 120_000 }, async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'Lister' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await send(t.key, { to: '+12025550104', from: 'Lister', body: `n${i}` })).body.message.id);
    await Promise.all(ids.map((id) => finalStatus(t.key, id, 100_000)));
    const first = await api.call<{ data: Message[]; nextCursor: string | null }>(
      'GET',
      '/v1/messages?limit=3',
      { key: t.key },
    );
    const second = await api.call<{ data: Message[]; nextCursor: string | null }>(
      'GET',
      `/v1/messages?limit=3&cursor=${first.body.nextCursor}`,
      { key: t.key },
    );
    expect([...first.body.data, ...second.body.data].map((m) => m.id)).toEqual([...ids].reverse());
    expect(second.body.nextCursor).toBeNull();
    const failed = await waitFor(async () => {
      const r = await api.call<{ data: Message[] }>('GET', '/v1/messages?status=failed', { key: t.key });
      return r.body.data.length === 5 ? r.body.data : undefined;
    }, 'the status index');
    expect(failed.every((m) => m.status === 'failed')).toBe(true);
  });
});

describe('GET /openapi.json', () => {
  it('serves the OpenAPI 3.1 document without a key', async () => {
    const res = await api.call<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toContain('/v1/messages/{id}');
  });
});

describe('what a newcomer meets at the edges of the API', () => {
  it('lists every invalid field of a message at once, the unknown key by name', async () => {
    const res = await send(acme.key, { to: '12345', from: '!!!!!!!!!!!!!!!', body: 123, extra: 1 });
    expectProblem(res, 422, 'validation-error');
    const pointers = (res.body as unknown as { errors: { pointer: string }[] }).errors.map((e) => e.pointer);
    expect(pointers.sort()).toEqual(['/body', '/extra', '/from', '/to']);
  });

  it('refuses a body with a lone surrogate instead of sending U+FFFD', async () => {
    const res = await api.call('POST', '/v1/messages', {
      key: acme.key,
      raw: '{"to":"+12025550100","from":"Acme","body":"half an emoji \\ud83d"}',
    });
    expectProblem(res, 422, 'validation-error');
    expect((res.body as unknown as { errors: unknown }).errors).toEqual([
      { pointer: '/body', detail: expect.stringContaining('surrogate') },
    ]);
  });

  it('answers an unknown path with a problem+json 404', async () => {
    const res = await api.call('GET', '/v1/no-such-thing', { key: acme.key });
    expectProblem(res, 404, 'not-found');
    expect(res.body).toMatchObject({ detail: expect.stringContaining('/openapi.json') });
    expectProblem(await api.call('GET', '/'), 404, 'not-found');
  });

  it('answers a known path with another method with a problem+json 405 and Allow', async () => {
    const res = await api.call('PATCH', '/v1/messages', { key: acme.key, body: {} });
    expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.get('allow')).toBe('GET, POST');
    const one = await api.call('PUT', '/v1/messages/msg_01M85ZWWMPGX6VT348ZP3J8NST', { key: acme.key });
    expectProblem(one, 405, 'method-not-allowed');
    expect(one.headers.get('allow')).toBe('GET');
  });

  it('takes the Bearer scheme in any case, for tenant keys and the admin token', async () => {
    const tenant = await api.call('GET', '/v1/messages?limit=1', {
      headers: { authorization: `bearer ${acme.key}` },
    });
    expect(tenant.status).toBe(200);
    const admin = await api.call('GET', '/admin/tenants', {
      headers: { authorization: `BEARER ${gateway.adminToken}` },
    });
    expect(admin.status).toBe(200);
  });
});
