import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEventV2,
  Context,
} from 'aws-lambda';
import { bearerToken } from '../../layers/core/api-keys.ts';
import { PAYLOAD_QUOTAS } from '../../layers/http/route.ts';
import { present } from '../../layers/present.ts';
import { closeServer, listenOn } from './listen.ts';

/** API Gateway's payload quota for an HTTP API: a longer body is answered 413 by API Gateway itself. */
const MAX_BODY = PAYLOAD_QUOTAS.httpApiBodyMb * 1024 * 1024;
/**
 * Lambda's payload quota for a synchronous invocation (the event: body, headers and context
 * together). Lambda refuses a larger one, and API Gateway answers that with its bare 500.
 */
const MAX_INVOCATION_PAYLOAD = PAYLOAD_QUOTAS.lambdaInvocationMb * 1024 * 1024;
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

/** An AWS::ApiGatewayV2::Authorizer of type REQUEST with its Lambda function. */
export interface LocalAuthorizer {
  id: string;
  invoke: (event: APIGatewayRequestAuthorizerEventV2) => Promise<unknown>;
  /** `$request.header.Authorization`, ...: a request lacking one is refused without a call. */
  identitySource: string[];
  resultTtlSeconds: number;
  simpleResponses: boolean;
}

/** An AWS::ApiGatewayV2::Route with its integration's function. */
export interface LocalRoute {
  routeKey: string;
  authorizationType: 'NONE' | 'CUSTOM' | 'AWS_IAM' | 'JWT';
  authorizer?: LocalAuthorizer;
  invoke: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
}

function compile(route: LocalRoute) {
  // `$default` catches every request no other route matches (any path, `/` too, any method),
  // with no path parameters, as in API Gateway.
  if (route.routeKey === '$default') {
    return { route, method: 'ANY', names: [] as string[], regex: /^.*$/, greedy: true, catchAll: true };
  }
  const [method, path = '/'] = route.routeKey.split(' ');
  const names: string[] = [];
  const pattern = path.replace(/\{(\w+)(\+?)\}/g, (_, name: string, greedy: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  return {
    route,
    method: present(method, `the method of route key ${route.routeKey}`),
    names,
    regex: new RegExp(`^${pattern}$`),
    greedy: path.includes('+}'),
    catchAll: false,
  };
}

/** 10 s for the headers, 30 s for the whole request (API Gateway's own integration limit is 30 s). */
const DEFAULT_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000 };

function gatewayError(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
}

/**
 * Serves an HTTP API's routes (from its template) the way API Gateway's HTTP API does: it turns
 * each request into a payload v2 event, runs the route's Lambda authorizer (with a result cache
 * keyed on the identity source, like API Gateway's), checks the admin token where AWS would
 * check IAM (AWS_IAM routes), and answers its own errors in API Gateway's shape ({"message": ...}).
 */
export class LocalHttpGateway {
  private server?: Server;
  private readonly compiled: ReturnType<typeof compile>[];
  private readonly cache = new Map<string, { until: number; context: Record<string, unknown> }>();

  constructor(
    private readonly deps: {
      routes: LocalRoute[];
      adminToken: string;
      region: string;
      /** How long a client may take to send its headers, and its whole request (tests shorten them). */
      timeouts?: { headersMs: number; requestMs: number };
    },
  ) {
    // Literal paths before parameters, greedy ones last and `$default` after all, as API Gateway
    // picks the most specific.
    this.compiled = deps.routes
      .map(compile)
      .sort(
        (a, b) =>
          Number(a.catchAll) - Number(b.catchAll) ||
          Number(a.greedy) - Number(b.greedy) ||
          a.names.length - b.names.length,
      );
  }

  private match(method: string, path: string) {
    for (const c of this.compiled) {
      if (c.method !== method && c.method !== 'ANY') continue;
      const m = c.regex.exec(path);
      if (!m) continue;
      // Each name has its group, in order after the whole match; none is optional.
      const params = Object.fromEntries(
        c.names.map((n, i) => [n, decodeURIComponent(present(m[i + 1], `path parameter ${n}`))]),
      );
      return { route: c.route, params };
    }
    return undefined;
  }

  private identity(authorizer: LocalAuthorizer, event: APIGatewayProxyEventV2): string[] | undefined {
    const values: string[] = [];
    for (const source of authorizer.identitySource) {
      const header = /^\$request\.header\.(.+)$/i.exec(source)?.[1];
      const query = /^\$request\.querystring\.(.+)$/i.exec(source)?.[1];
      const value = header
        ? event.headers[header.toLowerCase()]
        : query
          ? event.queryStringParameters?.[query]
          : undefined;
      if (!value) return undefined;
      values.push(value);
    }
    return values;
  }

  private async authorize(authorizer: LocalAuthorizer, event: APIGatewayProxyEventV2, identity: string[]) {
    const now = Date.now();
    const cacheKey = `${authorizer.id}\0${identity.join('\0')}`;
    const cached = this.cache.get(cacheKey);
    if (cached && cached.until > now) return { isAuthorized: true, context: cached.context };
    const result = (await authorizer.invoke({
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:${this.deps.region}:000000000000:local/$default/${event.routeKey.replace(' ', '')}`,
      identitySource: identity,
      routeKey: event.routeKey,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      cookies: [],
      headers: event.headers,
      queryStringParameters: event.queryStringParameters ?? {},
      requestContext: event.requestContext,
      pathParameters: event.pathParameters ?? {},
      stageVariables: {},
    } as APIGatewayRequestAuthorizerEventV2)) as {
      isAuthorized?: boolean;
      context?: Record<string, unknown>;
    };
    if (!authorizer.simpleResponses) throw new Error('only simple authorizer responses are served locally');
    // Only an allowing answer is cached (the gateway's authorizer never denies: it passes a reason).
    if (authorizer.resultTtlSeconds > 0 && result.isAuthorized) {
      this.cache.set(cacheKey, {
        until: now + authorizer.resultTtlSeconds * 1000,
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
      routeKey: route.routeKey,
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
        routeKey: route.routeKey,
        stage: '$default',
        time: now.toISOString(),
        timeEpoch: now.getTime(),
      },
      body: chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : undefined,
      isBase64Encoded: false,
    };
    try {
      if (route.authorizationType === 'CUSTOM' && route.authorizer) {
        const identity = this.identity(route.authorizer, event);
        // API Gateway answers a missing identity source itself, without calling the authorizer.
        if (!identity) return gatewayError(res, 401, 'Unauthorized');
        const auth = await this.authorize(route.authorizer, event, identity);
        if (!auth.isAuthorized) return gatewayError(res, 403, 'Forbidden');
        (event.requestContext as unknown as Record<string, unknown>).authorizer = { lambda: auth.context };
      } else if (route.authorizationType === 'AWS_IAM') {
        if (bearerToken(headers.authorization) !== this.deps.adminToken)
          return gatewayError(res, 403, 'Forbidden');
        (event.requestContext as unknown as Record<string, unknown>).authorizer = {
          iam: { userArn: 'arn:aws:iam::000000000000:user/local-admin', userId: 'local-admin' },
        };
      }
      const payload = Buffer.byteLength(JSON.stringify(event));
      if (payload > MAX_INVOCATION_PAYLOAD) {
        console.error(
          JSON.stringify({
            level: 'ERROR',
            message: 'invocation refused',
            route: route.routeKey,
            error: 'RequestTooLargeException',
            detail: `${payload} byte payload is over Lambda's ${MAX_INVOCATION_PAYLOAD} bytes`,
          }),
        );
        return gatewayError(res, 500, 'Internal Server Error');
      }
      const result = await Promise.race([
        route.invoke(event),
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
          route: route.routeKey,
          error: (error as Error)?.name,
          // Lambda's error messages name settings and denials, never request data.
          detail: (error as Error)?.message,
        }),
      );
      gatewayError(res, 500, 'Internal Server Error');
    }
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const { headersMs, requestMs } = this.deps.timeouts ?? DEFAULT_TIMEOUTS;
    const server = createServer(
      // A client that trickles its headers or body (slowloris) is cut off, as API Gateway's
      // front end does; Node checks for them every `connectionsCheckingInterval`.
      {
        headersTimeout: headersMs,
        requestTimeout: requestMs,
        connectionsCheckingInterval: Math.min(headersMs, 1_000),
      },
      (req, res) => {
        this.serve(req, res).catch(() => gatewayError(res, 500, 'Internal Server Error'));
      },
    );
    server.keepAliveTimeout = 65_000;
    this.server = server;
    return listenOn(server, port, host);
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }
}
