import type { TenantEvent } from '../../layers/http/handler.ts';

/**
 * An API Gateway v2 (HTTP API) event for `routeKey` as the authorizer leaves it, with what a
 * handler test sets: the caller's address and agent, the request id, headers, path parameters,
 * and the authorizer's context (undefined: none).
 */
export function apiEvent(options: {
  routeKey: string;
  authorizer: Record<string, unknown> | undefined;
  sourceIp: string;
  userAgent: string;
  requestId: string;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
}): TenantEvent {
  const [method, path] = options.routeKey.split(' ') as [string, string];
  return {
    version: '2.0',
    routeKey: options.routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: options.headers ?? {},
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: '1',
      apiId: 'api',
      domainName: 'x',
      domainPrefix: 'x',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: options.sourceIp, userAgent: options.userAgent },
      requestId: options.requestId,
      routeKey: options.routeKey,
      stage: '$default',
      time: '',
      timeEpoch: 0,
      authorizer: { lambda: options.authorizer, principalId: '', integrationLatency: 0 },
    },
    isBase64Encoded: false,
  } as unknown as TenantEvent;
}
