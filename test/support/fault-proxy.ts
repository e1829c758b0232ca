import { createServer, request, type Server } from 'node:http';

/**
 * What the proxy does with one AWS JSON-protocol request: by its `X-Amz-Target` operation, its
 * body, and the region its SigV4 credential scope names (what a regional outage refuses).
 */
export type FaultRule = (
  operation: string,
  body: string,
  region: string,
) => 'throttle' | 'unavailable' | undefined;

const ERRORS = {
  dynamodb: {
    throttle: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    unavailable: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    contentType: 'application/x-amz-json-1.0',
  },
  kms: {
    throttle: 'ThrottlingException',
    unavailable: 'KMSInternalException',
    contentType: 'application/x-amz-json-1.1',
  },
  sqs: {
    throttle: 'com.amazonaws.sqs#RequestThrottled',
    unavailable: 'com.amazonaws.sqs#ServiceUnavailable',
    contentType: 'application/x-amz-json-1.0',
  },
};

/** The region of a SigV4 `Authorization` header's credential scope (`.../<date>/<region>/<service>/aws4_request`). */
const signedRegion = (authorization: string) =>
  /Credential=[^/]+\/\d+\/([^/]+)\//.exec(authorization)?.[1] ?? '';

/**
 * A fault-injecting proxy in front of DynamoDB Local, the local SQS or the KMS stand-in: real requests go
 * through unchanged; while a rule says so, an operation is answered with the service's own
 * throttling (400) or internal error (500) instead, as the AWS service would.
 */
export async function startFaultProxy(
  service: 'dynamodb' | 'kms' | 'sqs',
  target: string,
  options: {
    /** Rewrites a request body before it is forwarded (e.g. to ask for ConsumedCapacity). */
    rewrite?: (operation: string, body: string) => string;
    /** Sees each forwarded call's operation, request and response bodies. */
    observe?: (operation: string, request: string, response: string) => void;
    /** Holds a request until the promise it returns settles (e.g. until a replica caught up). */
    hold?: (operation: string, body: string, region: string) => Promise<void> | undefined;
  } = {},
) {
  let rule: FaultRule = () => undefined;
  const counts = { forwarded: 0, faulted: 0 };
  const upstream = new URL(target);
  const server: Server = createServer(async (req, res) => {
    const operation =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? '';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const fault = rule(
      operation,
      body.toString('utf8'),
      signedRegion(String(req.headers.authorization ?? '')),
    );
    if (fault) {
      counts.faulted++;
      const e = ERRORS[service];
      res.writeHead(fault === 'throttle' ? 400 : 500, { 'content-type': e.contentType }).end(
        JSON.stringify({
          __type: e[fault],
          message: fault === 'throttle' ? 'Rate exceeded' : 'Internal error',
        }),
      );
      return;
    }
    await options.hold?.(
      operation,
      body.toString('utf8'),
      signedRegion(String(req.headers.authorization ?? '')),
    );
    counts.forwarded++;
    const sentBody = options.rewrite ? Buffer.from(options.rewrite(operation, body.toString('utf8'))) : body;
    const headers = { ...req.headers, 'content-length': String(sentBody.length) };
    const forward = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!options.observe) {
          up.pipe(res);
          return;
        }
        const parts: Buffer[] = [];
        up.on('data', (c: Buffer) => parts.push(c));
        up.on('end', () => {
          const answer = Buffer.concat(parts);
          options.observe!(operation, sentBody.toString('utf8'), answer.toString('utf8'));
          res.end(answer);
        });
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    forward.end(sentBody);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    counts,
    set(next: FaultRule) {
      rule = next;
    },
    clear() {
      rule = () => undefined;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
