import type * as z from 'zod';
import type { Scope } from '../core/api-keys.ts';
import { Problem as ProblemSchema } from './schemas.ts';

/** HTTP functions, each `functions/<name>.ts` exporting `operations` (keyed by operation id) and `handler`. */
export const HTTP_FUNCTIONS = [
  'send-message',
  'send-batch',
  'get-message',
  'list-messages',
  'delete-message-body',
  'subjects',
  'inbound',
  'opt-outs',
  'consents',
  'sender-ids',
  'settings',
  'verifications',
  'carrier-inbound',
  'audit-events',
  'usage',
  'webhooks',
  'get-openapi',
  'admin',
] as const;

export type HttpFunction = (typeof HTTP_FUNCTIONS)[number];

/**
 * The function behind the `$default` route, which answers requests no route takes (404, or 405
 * with Allow): the one that serves the API's description already holds the route table.
 */
export const UNKNOWN_ROUTE_FUNCTION: HttpFunction = 'get-openapi';

/** The other functions: the API key authorizer and the queue workers. */
export const OTHER_FUNCTIONS = [
  'authorize',
  'dispatch-messages',
  'apply-carrier-events',
  'record-audit-events',
  'deliver-webhooks',
] as const;

/** Functions deployed only with End User Messaging as the carrier: its topic's subscriber. */
export const EUM_FUNCTIONS = ['receive-eum-events'] as const;

/** The response headers the gateway sends, each declared where it can be sent (OpenAPI `headers`). */
export const RESPONSE_HEADERS = {
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    schema: { type: 'integer', minimum: 0 },
  },
  'Idempotent-Replayed': {
    description:
      'Sent (as `true`) when this is the stored response to an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
  Location: {
    description: 'The path of the message created.',
    schema: { type: 'string', example: '/v1/messages/msg_01M85ZWWMPGX6VT348ZP3J8NST' },
  },
  'WWW-Authenticate': {
    description: 'How to authenticate: `Bearer`.',
    schema: { type: 'string', example: 'Bearer' },
  },
  'X-Next-Cursor': {
    description: 'Exports (`format=csv` or `ndjson`): the cursor of the next page; absent on the last page.',
    schema: { type: 'string' },
  },
  'Content-Disposition': {
    description: 'CSV exports: the file name to save the report as.',
    schema: { type: 'string', example: 'attachment; filename="usage-2026-11-01-2026-11-30.csv"' },
  },
} as const satisfies Record<string, { description: string; schema: Record<string, unknown> }>;

export type ResponseHeader = keyof typeof RESPONSE_HEADERS;

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** The headers this response can carry. */
  headers?: readonly ResponseHeader[];
  /** Text media types the route can also answer in (exports). */
  text?: readonly string[];
  /** API Gateway itself can answer this status on this route, with `{"message": ...}` (GatewayMessage). */
  gateway?: boolean;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  function: HttpFunction;
  /**
   * tenant: API key through the Lambda authorizer; admin: IAM in AWS, the admin token locally;
   * carrier: the carrier webhook token, checked by the function; public: none.
   */
  auth: 'tenant' | 'admin' | 'carrier' | 'public';
  scope?: Scope;
  operationId: string;
  summary: string;
  tags: readonly string[];
  idempotent?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, RouteResponse>;
}

/** The headers every problem of a status carries (429 and 503 say when to retry). */
const PROBLEM_HEADERS: Record<number, ResponseHeader[]> = {
  401: ['WWW-Authenticate'],
  429: ['Retry-After'],
  503: ['Retry-After'],
};

const problem = (code: number): RouteResponse => ({
  description: 'Problem details (RFC 9457)',
  schema: ProblemSchema,
  ...(PROBLEM_HEADERS[code] ? { headers: PROBLEM_HEADERS[code] } : {}),
});

export const problems = (...codes: number[]): Record<number, RouteResponse> =>
  Object.fromEntries(codes.map((c) => [c, problem(c)]));

/**
 * Routes that open a sealed record of their own (a replayed result, a webhook secret, an
 * applicant's identity): 410 `data-unreadable` when it does not open for good.
 */
export const unreadable: Record<number, RouteResponse> = {
  410: {
    description:
      "Problem details (RFC 9457), `data-unreadable`: a stored record this request needs does not open under this account's key; asking again gives the same answer",
    schema: ProblemSchema,
  },
};

/**
 * What every route can answer besides its own responses: a 500 and a 503 (ours as problem
 * details; API Gateway's own when a function fails, Lambda refuses to run it or it does not answer
 * in time), the 401 API Gateway gives a tenant route called without an Authorization header, the
 * 403 it gives an admin route whose call IAM refuses, and the 413 it gives a body over its quota.
 */
/** API Gateway's payload quota for an HTTP API, and Lambda's for a synchronous invocation (the event). */
export const PAYLOAD_QUOTAS = { httpApiBodyMb: 10, lambdaInvocationMb: 6 } as const;

export function withEdgeResponses(route: Route): Route {
  const responses: Record<number, RouteResponse> = {
    ...route.responses,
    500: {
      description: `Something failed on our side: problem details that say nothing more, or API Gateway's own answer when the function failed or Lambda refused to run it (a request whose event, body and headers together, is over Lambda's ${PAYLOAD_QUOTAS.lambdaInvocationMb} MB invocation payload)`,
      schema: ProblemSchema,
      gateway: true,
    },
    503: {
      description:
        "A dependency is unavailable: problem details with Retry-After; or API Gateway's own answer when the function did not answer in time",
      schema: ProblemSchema,
      headers: ['Retry-After'],
      gateway: true,
    },
  };
  if (route.auth === 'tenant') {
    responses[401] = {
      ...(responses[401] ?? problem(401)),
      description:
        'Problem details for an unknown, malformed or revoked key; API Gateway answers a request without an Authorization header itself',
      gateway: true,
    };
  }
  if (route.body) {
    responses[413] = {
      description: `API Gateway refused the request before any function ran: its body is over ${PAYLOAD_QUOTAS.httpApiBodyMb} MB, the payload quota of an HTTP API`,
      gateway: true,
    };
  }
  if (route.auth === 'admin') {
    responses[403] = {
      description: 'API Gateway refused the call: not signed by an IAM principal allowed to call it',
      gateway: true,
    };
  }
  return { ...route, responses };
}

/**
 * A route's responses as documented (the route table's entries already carry the 500 and 503
 * every route can answer, the 503 of a key that could not be looked up included).
 */
export function documentedResponses(route: Route): Route['responses'] {
  return route.responses;
}

export const routeKey = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;
