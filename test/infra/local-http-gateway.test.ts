import { connect } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalHttpGateway } from '../../infra/local/http-gateway.ts';

const gateway = new LocalHttpGateway({
  routes: [],
  adminToken: 'local',
  region: 'us-east-1',
  timeouts: { headersMs: 300, requestMs: 1_000 },
});
afterAll(() => gateway.close());

describe('the local HTTP server', () => {
  it('closes a connection whose headers never finish (slowloris) instead of keeping it for ever', async () => {
    const port = await gateway.listen(0);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let answered = '';
    socket.on('data', (d: Buffer) => {
      answered += d.toString();
    });
    socket.write('GET /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const closed = await Promise.race([
      new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed'))),
      new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 5_000)),
    ]);
    socket.destroy();
    expect(closed).toBe('closed');
    expect(answered).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('a request body API Gateway or Lambda refuses', () => {
  const invoked: APIGatewayProxyEventV2[] = [];
  const sizes = new LocalHttpGateway({
    routes: [
      {
        routeKey: 'POST /v1/messages/batch',
        authorizationType: 'NONE',
        invoke: async (event) => {
          invoked.push(event);
          return { statusCode: 200, body: '{}' };
        },
      },
    ],
    adminToken: 'local',
    region: 'us-east-1',
  });
  afterAll(() => sizes.close());
  const MB = 1024 * 1024;
  const post = async (bytes: number) => {
    const port = await sizes.listen(0);
    const res = await fetch(`http://127.0.0.1:${port}/v1/messages/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `"${'x'.repeat(bytes - 2)}"`,
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
  };

  it.each([
    [
      'answers a body over 10 MB (the HTTP API payload quota) 413 itself, without running the function',
      10 * MB + 1,
      413,
      'Request Entity Too Large',
    ],
    [
      "answers API Gateway's bare 500 when the event is over Lambda's 6 MB invocation payload, without running the function",
      6 * MB,
      500,
      'Internal Server Error',
    ],
  ])('%s', async (_name, size, status, message) => {
    invoked.length = 0;
    expect(await post(size)).toEqual({ status, type: 'application/json', body: { message } });
    expect(invoked).toEqual([]);
  });

  it('hands a body under both limits to the function', async () => {
    invoked.length = 0;
    expect((await post(6 * MB - 4096)).status).toBe(200);
    expect(invoked.map((e) => e.body?.length)).toEqual([6 * MB - 4096]);
  });
});
