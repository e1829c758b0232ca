import { connect } from 'node:net';
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
