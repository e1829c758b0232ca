import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookTargetBlockedError } from '../../functions/webhooks/model.ts';
import { HttpsWebhookTransport, vettedLookup } from '../../layers/adapters/https-webhook-transport.ts';

const servers: Server[] = [];
let hits: string[] = [];
async function serve(handler: Parameters<typeof createServer>[1]) {
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler!(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  hits = [];
});

const local = new HttpsWebhookTransport({ timeoutMs: 300, allowLoopback: true });

describe('the webhook transport', () => {
  it('answers with the status and never follows a redirect', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/hook') res.writeHead(307, { location: '/elsewhere' }).end();
      else res.writeHead(204).end();
    });
    await expect(local.post(`${url}/hook`, { 'x-test': '1' }, '{}')).resolves.toEqual({ status: 307 });
    expect(hits).toEqual(['/hook']);
  });

  it('gives up on a receiver that does not answer in time, with a reason fit for the tenant', async () => {
    const url = await serve(() => undefined);
    await expect(local.post(`${url}/slow`, {}, '{}')).rejects.toThrow('The endpoint did not answer in time.');
  });

  it('refuses literal private addresses before connecting, loopback included outside the local runtime', async () => {
    const url = await serve((_req, res) => res.writeHead(204).end());
    const strict = new HttpsWebhookTransport({ timeoutMs: 300, allowLoopback: false });
    await expect(strict.post(`${url}/x`, {}, '{}')).rejects.toBeInstanceOf(WebhookTargetBlockedError);
    await expect(strict.post('https://[::ffff:a9fe:a9fe]/latest', {}, '{}')).rejects.toBeInstanceOf(
      WebhookTargetBlockedError,
    );
    expect(hits).toEqual([]);
  });

  it('checks every address a name resolves to (a public answer with a private one beside it is refused)', async () => {
    const answer =
      (addresses: string[]) =>
      (_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
        cb(
          null,
          addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
        );
    const run = (addresses: string[]) =>
      new Promise<unknown>((resolve) =>
        vettedLookup(false, answer(addresses))('hooks.example.com', {}, (error, address) =>
          resolve(error ?? address),
        ),
      );
    await expect(run(['93.184.216.34'])).resolves.toBe('93.184.216.34');
    await expect(run(['93.184.216.34', '10.0.0.5'])).resolves.toBeInstanceOf(WebhookTargetBlockedError);
    await expect(run(['fd00:ec2::254'])).resolves.toBeInstanceOf(WebhookTargetBlockedError);
    await expect(run(['::ffff:169.254.169.254'])).resolves.toBeInstanceOf(WebhookTargetBlockedError);
  });
});
