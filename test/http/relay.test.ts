import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../layers/core/errors.ts';
import { toProblem } from '../../layers/http/problems.ts';
import { euPartKey, makeRelay, mergeEuPart } from '../../layers/http/relay.ts';

/** A fake EU endpoint: records what it received and answers as told. */
async function fakeEu(answer: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      answer(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

function event(overrides: {
  method: string;
  path: string;
  query?: string;
  body?: string;
  base64?: boolean;
  headers?: Record<string, string>;
}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${overrides.method} ${overrides.path}`,
    rawPath: overrides.path,
    rawQueryString: overrides.query ?? '',
    headers: overrides.headers ?? {},
    requestContext: {
      http: { method: overrides.method, path: overrides.path, sourceIp: '1.2.3.4' },
      requestId: 'req-1',
    },
    ...(overrides.body === undefined ? {} : { body: overrides.body }),
    isBase64Encoded: overrides.base64 ?? false,
  } as unknown as APIGatewayProxyEventV2;
}

describe('the relay to the EU endpoint', () => {
  it('sends the request as it came: method, path, query, body and the client headers that matter', async () => {
    const eu = await fakeEu((_req, _body, res) => {
      res.writeHead(202, { 'content-type': 'application/json', location: '/v1/messages/msg_1' });
      res.end('{"message":{"id":"msg_1","jurisdiction":"eu"}}');
    });
    const relay = makeRelay({ url: `${eu.url}/` });
    const body = JSON.stringify({ to: '+4915112345678', body: 'Hallo' });
    await relay(
      event({
        method: 'POST',
        path: '/v1/messages',
        query: 'a=1&b=%2B49',
        body: Buffer.from(body).toString('base64'),
        base64: true,
        headers: {
          authorization: 'Bearer sk_test_x',
          'content-type': 'application/json',
          'idempotency-key': 'k-1',
          'user-agent': 'client/1.0',
          cookie: 'session=secret',
          'x-forwarded-for': '10.0.0.1',
        },
      }),
    );
    expect(eu.seen).toHaveLength(1);
    const got = eu.seen[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/v1/messages?a=1&b=%2B49');
    expect(got.body).toBe(body);
    expect(got.headers).toMatchObject({
      authorization: 'Bearer sk_test_x',
      'content-type': 'application/json',
      'idempotency-key': 'k-1',
      'user-agent': 'client/1.0',
    });
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers['x-forwarded-for']).toBeUndefined();
  });

  it("returns the EU endpoint's answer unchanged: status, body and the documented headers", async () => {
    const problem = JSON.stringify({ type: 'https://sms-gateway.dev/problems/rate-limited', status: 429 });
    const eu = await fakeEu((_req, _body, res) => {
      res.writeHead(429, {
        'content-type': 'application/problem+json',
        'retry-after': '7',
        'idempotent-replayed': 'true',
        'www-authenticate': 'Bearer',
        'x-amzn-requestid': 'internal',
        'set-cookie': 'a=b',
      });
      res.end(problem);
    });
    const answer = await makeRelay({ url: eu.url })(event({ method: 'GET', path: '/v1/messages/msg_1' }));
    expect(answer).toEqual({
      status: 429,
      text: problem,
      headers: {
        'content-type': 'application/problem+json',
        'retry-after': '7',
        'idempotent-replayed': 'true',
        'www-authenticate': 'Bearer',
      },
      relayed: true,
    });
  });

  it('passes a GET without a body and a 404 as it is', async () => {
    const eu = await fakeEu((_req, _body, res) => {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end('{"status":404}');
    });
    const answer = await makeRelay({ url: eu.url })(
      event({ method: 'GET', path: '/v1/messages', query: 'jurisdiction=eu', body: '' }),
    );
    expect(eu.seen[0]).toMatchObject({ method: 'GET', url: '/v1/messages?jurisdiction=eu', body: '' });
    expect(answer.status).toBe(404);
  });

  it('answers 503 with Retry-After, never a 500, when the EU endpoint cannot be reached', async () => {
    const eu = await fakeEu(() => undefined);
    const port = new URL(eu.url).port;
    servers.pop()!.close();
    const failed = await makeRelay({ url: `http://127.0.0.1:${port}` })(
      event({ method: 'POST', path: '/v1/messages', body: '{}' }),
    ).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ServiceUnavailableError);
    const problem = toProblem(failed);
    expect(problem.status).toBe(503);
    expect(problem.headers).toEqual({ 'retry-after': '1' });
  });

  it('answers 503 when the EU endpoint is too slow, without waiting past the timeout', async () => {
    // Never answers.
    const eu = await fakeEu(() => undefined);
    const started = Date.now();
    const failed = await makeRelay({ url: eu.url, timeoutMs: 200 })(
      event({ method: 'GET', path: '/v1/messages/msg_1' }),
    ).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(toProblem(failed).status).toBe(503);
  });

  it('answers 503 when the EU endpoint cuts the connection mid-answer', async () => {
    const eu = await fakeEu((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      res.socket?.destroy();
    });
    const failed = await makeRelay({ url: eu.url })(event({ method: 'GET', path: '/v1/messages' })).catch(
      (e: unknown) => e,
    );
    expect(toProblem(failed).status).toBe(503);
  });
});

describe("a batch's EU part, relayed", () => {
  const answer = (status: number, body: unknown) => ({
    status,
    text: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    relayed: true as const,
  });

  /** Item `index` of a batch refused for its empty body, its pointer naming that index. */
  const emptyBody = (index: number) => ({
    index,
    status: 'rejected',
    problem: {
      status: 422,
      errors: [{ pointer: `/messages/${index}/body`, detail: "'body' must not be empty" }],
    },
  });

  it("puts each EU item's answer back in its place in the batch, pointers too", () => {
    const merged = mergeEuPart(
      [1, 4],
      answer(200, {
        accepted: 1,
        rejected: 1,
        results: [
          { index: 0, status: 'accepted', message: { id: 'msg_1', jurisdiction: 'eu' } },
          emptyBody(1),
        ],
      }),
    );
    expect(merged).toEqual([
      { index: 1, status: 'accepted', message: { id: 'msg_1', jurisdiction: 'eu' } },
      emptyBody(4),
    ]);
  });

  it('refuses each EU item on its own with the problem the EU endpoint answered the part with', () => {
    const limited = { type: 'https://sms-gateway.dev/problems/rate-limited', status: 429 };
    expect(mergeEuPart([0, 2], answer(429, limited))).toEqual([
      { index: 0, status: 'rejected', problem: limited },
      { index: 2, status: 'rejected', problem: limited },
    ]);
    const unreachable = mergeEuPart([3], new ServiceUnavailableError('down'));
    expect(unreachable).toMatchObject([
      {
        index: 3,
        status: 'rejected',
        problem: { status: 503, type: expect.stringContaining('unavailable') },
      },
    ]);
  });

  it('derives a key of its own for the EU part: stable, valid as a key, and not the one the global part claims', () => {
    const key = 'x'.repeat(255);
    expect(euPartKey(key)).toBe(euPartKey(key));
    expect(euPartKey(key)).not.toBe(key);
    expect(euPartKey(key)).toMatch(/^[\x21-\x7e]{1,255}$/);
    expect(euPartKey('a')).not.toBe(euPartKey('b'));
  });
});
