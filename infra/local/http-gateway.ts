import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  Context,
} from 'aws-lambda';
import { ROUTES, type Route, routeKey } from '../../layers/http/routes.ts';

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;
export type Authorizer = (
  event: APIGatewayRequestAuthorizerEventV2,
) => Promise<APIGatewaySimpleAuthorizerWithContextResult<Record<string, unknown>>>;

const MAX_BODY = 10 * 1024 * 1024; // API Gateway HTTP API payload limit
const INTEGRATION_TIMEOUT_MS = 30_000;

export function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function compile(route: Route) {
  const names: string[] = [];
  const pattern = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, names, regex: new RegExp(`^${pattern}$`) };
}

function gatewayError(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
}

/**
 * Serves the route table the way API Gateway's HTTP API does: it turns each request into a
 * payload v2 event, runs the Lambda authorizer (with a result cache keyed on the Authorization
 * header, like API Gateway's) for tenant routes, checks the admin token where AWS would check
 * IAM, and answers its own errors in API Gateway's shape ({"message": ...}).
 */
export class LocalHttpGateway {
  private server?: Server;
  private readonly compiled = ROUTES.map(compile);
  private readonly cache = new Map<string, { until: number; context: Record<string, unknown> }>();

  constructor(
    private readonly deps: {
      handlers: Record<Route['function'], HttpHandler>;
      authorizer: Authorizer;
      adminToken: string;
      authorizerCacheSeconds: number;
      /** Like an API Gateway stage's variables; the gateway's tell handlers their jurisdiction. */
      stageVariables?: Record<string, string>;
    },
  ) {}

  private match(method: string, path: string) {
    for (const c of this.compiled) {
      const m = c.regex.exec(path);
      if (!m) continue;
      if (c.route.method !== method) continue;
      const params = Object.fromEntries(c.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
      return { route: c.route, params };
    }
    return undefined;
  }

  private async authorize(event: APIGatewayProxyEventV2, header: string) {
    const now = Date.now();
    const cached = this.cache.get(header);
    if (cached && cached.until > now) return { isAuthorized: true, context: cached.context };
    const result = await this.deps.authorizer({
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${event.routeKey.replace(' ', '')}`,
      identitySource: [header],
      routeKey: event.routeKey,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      cookies: [],
      headers: event.headers,
      queryStringParameters: event.queryStringParameters ?? {},
      requestContext: event.requestContext,
      pathParameters: event.pathParameters ?? {},
      stageVariables: {},
    } as APIGatewayRequestAuthorizerEventV2);
    if (this.deps.authorizerCacheSeconds > 0) {
      this.cache.set(header, {
        until: now + this.deps.authorizerCacheSeconds * 1000,
        context: result.context ?? {},
      });
    }
    return result;
  }

  private async serve(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    const found = this.match(method, url.pathname);
    if (!found) {
      return gatewayError(res, 404, 'Not Found');
    }
    const { route, params } = found;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) return gatewayError(res, 413, 'Request Entity Too Large');
      chunks.push(c as Buffer);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
    const now = new Date();
    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey: routeKey(route),
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
      pathParameters: Object.keys(params).length > 0 ? params : undefined,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: headers.host ?? 'localhost',
        domainPrefix: 'local',
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: routeKey(route),
        stage: '$default',
        time: now.toISOString(),
        timeEpoch: now.getTime(),
      },
      body: chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : undefined,
      isBase64Encoded: false,
      ...(this.deps.stageVariables ? { stageVariables: this.deps.stageVariables } : {}),
    };
    try {
      if (route.auth === 'tenant') {
        const header = headers.authorization;
        // API Gateway answers a missing identity source itself, without calling the authorizer.
        if (!header) return gatewayError(res, 401, 'Unauthorized');
        const auth = await this.authorize(event, header);
        if (!auth.isAuthorized) return gatewayError(res, 403, 'Forbidden');
        (event.requestContext as unknown as Record<string, unknown>).authorizer = { lambda: auth.context };
      } else if (route.auth === 'admin') {
        if (headers.authorization !== `Bearer ${this.deps.adminToken}`)
          return gatewayError(res, 403, 'Forbidden');
        (event.requestContext as unknown as Record<string, unknown>).authorizer = {
          iam: { userArn: 'arn:aws:iam::000000000000:user/local-admin', userId: 'local-admin' },
        };
      }
      const handler = this.deps.handlers[route.function];
      const result = await Promise.race([
        handler(event, lambdaContext(route.function, INTEGRATION_TIMEOUT_MS)),
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), INTEGRATION_TIMEOUT_MS).unref()),
      ]);
      if (result === 'timeout') return gatewayError(res, 503, 'Service Unavailable');
      res
        .writeHead(result.statusCode ?? 200, result.headers as Record<string, string>)
        .end(result.body ?? '');
    } catch (error) {
      // What API Gateway does when a function throws: a bare 500, nothing from the error.
      console.error(
        JSON.stringify({
          level: 'ERROR',
          message: 'function error',
          route: route.path,
          error: (error as Error)?.name,
        }),
      );
      gatewayError(res, 500, 'Internal Server Error');
    }
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => {
      this.serve(req, res).catch(() => gatewayError(res, 500, 'Internal Server Error'));
    });
    server.keepAliveTimeout = 65_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
