import { createServer, type IncomingHttpHeaders } from 'node:http';

/** A webhook delivery as the receiver got it. */
export type Received = { path: string; headers: IncomingHttpHeaders; body: string };

/**
 * A webhook receiver on this machine (a local gateway reaches loopback only when told so): it
 * keeps every request in `received` and answers `statusFor(path)` (204 unless said).
 */
export async function startWebhookReceiver(statusFor: (path: string) => number = () => 204) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(statusFor(req.url ?? '')).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => server.close(),
  };
}
