import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from 'zod';
import type { AuditActor } from '../core/audit.ts';
import { type FieldIssue, NotFoundError, ValidationError } from '../core/errors.ts';
import type { TenantContext } from '../core/model.ts';
import { tracing } from '../telemetry.ts';
import {
  asTenant,
  audited,
  type HttpResponse,
  type HttpResult,
  json,
  parseJsonBody,
  problemErrors,
  type RawRequest,
  type Read,
  type RouteGuards,
  readWith,
  type TenantEvent,
  whole,
} from './handler.ts';
import { type HttpFunction, type Route, routeKey } from './route.ts';
import { ROUTES, type TableRoute } from './routes.ts';

/** The operation ids of a function's routes, as the route table states them. */
export type OperationId<F extends HttpFunction> = Extract<TableRoute, { function: F }>['operationId'];
type RouteOf<Op extends string> = Extract<TableRoute, { operationId: Op }>;
type Part<R, K extends 'params' | 'query' | 'body'> = R extends { [P in K]: infer S extends z.ZodType }
  ? z.infer<S>
  : undefined;

/** A request's parts read with its route's own schemas (a part the route has none for: undefined). */
export type Parsed<Op extends string> = {
  params: Part<RouteOf<Op>, 'params'>;
  query: Part<RouteOf<Op>, 'query'>;
  body: Part<RouteOf<Op>, 'body'>;
};

/**
 * What a handler gets: the parsed parts, the tenant (tenant routes: its key holds the route's
 * scope), and the event for what the table does not describe (headers such as Idempotency-Key,
 * the source IP, stage variables), or to relay as it came.
 */
export type OperationRequest<Op extends string> = Parsed<Op> &
  (RouteOf<Op>['auth'] extends 'tenant'
    ? {
        tenant: TenantContext;
        event: TenantEvent;
        /** Settles when the rate limit admits the call (at once, unless `admitAlongside`). */
        admitted: Promise<void>;
      }
    : { event: APIGatewayProxyEventV2 });

export type Handle<Op extends string> = (request: OperationRequest<Op>) => Promise<HttpResult>;

/** A handler with what its route needs beyond the table's schemas. */
export interface OperationSpec<Op extends string> {
  handle: Handle<Op>;
  /**
   * Compares parts that are valid on their own (a body field that must repeat a path parameter):
   * its reasons join the 422 of the parts' own.
   */
  check?: (valid: Partial<Parsed<Op>>, raw: RawRequest) => FieldIssue[];
  /**
   * Reads the body in place of the table's schema: with a header it is read with (an
   * Idempotency-Key named in the same 422), or with a schema set by this runtime's settings.
   * Throws ValidationError with the field-level reasons.
   */
  readBody?: (event: APIGatewayProxyEventV2) => Parsed<Op>['body'];
  /**
   * Tenant routes: the rate limit is decided while the handler's first calls run, not before
   * them (one round trip fewer); what the handler counts before `admitted` settles it gives back
   * when the limit refuses, and it stores nothing before.
   */
  admitAlongside?: boolean;
  /**
   * Tenant routes: whether the request, read, is one the handler relays whole to the EU API
   * (forward residency). Such a request is admitted against the rate limit there, once (the EU
   * API answers 429 itself): it is read before admission starts, and not admitted here.
   */
  relays?: (parts: Parsed<Op>, event: TenantEvent, tenant: TenantContext) => boolean;
  /** Admin routes: the tenant whose trail the call joins when no path parameter names one (one it created). */
  auditTenant?: (result: HttpResult) => string | undefined;
}

export type Operation<Op extends string> = Handle<Op> | OperationSpec<Op>;

/** A function's handlers, one per operation id of its routes in the table: no more, no fewer. */
export type Operations<F extends HttpFunction> = { [Op in OperationId<F>]: Operation<Op> };

export interface OperationOptions {
  /** Tenant routes: the rate limit and the audit trail; admin routes: the audit trail. */
  guards?: RouteGuards;
  /** Carrier routes: checks the carrier's credentials before anything of the request is read. */
  authenticate?: (event: APIGatewayProxyEventV2) => Promise<void>;
  /** The `$default` route's answer (a request no route takes), for the function that serves it. */
  unknownRoute?: (event: APIGatewayProxyEventV2) => HttpResult;
}

const byKey = new Map(ROUTES.map((r) => [routeKey(r), r]));

/** The route of the event, if it is one of `fn`'s: else a 404, never another operation's handler. */
function routeFor(fn: HttpFunction, event: APIGatewayProxyEventV2): Route {
  const route = byKey.get(event.routeKey);
  if (!route || route.function !== fn) throw new NotFoundError('route', event.routeKey);
  return route;
}

const specOf = (op: Operation<string> | undefined): OperationSpec<string> | undefined =>
  op === undefined ? undefined : typeof op === 'function' ? { handle: op } : op;

/**
 * Reads a request's path parameters, query and body with its route's schemas at once: a 422
 * names every invalid field of all of them (a body that is no JSON is a 400 of its own).
 */
function parse(route: Route, spec: OperationSpec<string>, event: APIGatewayProxyEventV2) {
  const raw: RawRequest = {
    params: event.pathParameters ?? {},
    query: event.queryStringParameters ?? {},
    body: undefined,
  };
  const parts: Record<string, Read<unknown>> = {};
  if (route.params) parts.params = readWith(route.params, raw.params, 'parameter');
  if (route.query) parts.query = readWith(route.query, raw.query, 'parameter');
  if (spec.readBody) parts.body = readBodyWith(spec.readBody, event);
  else if (route.body) {
    raw.body = parseJsonBody(event);
    parts.body = readWith(route.body, raw.body, 'pointer');
  }
  const valid = whole(parts, spec.check && ((v) => spec.check?.(v as Partial<Parsed<string>>, raw) ?? []));
  return { params: valid.params, query: valid.query, body: valid.body };
}

function readBodyWith(read: (event: APIGatewayProxyEventV2) => unknown, event: APIGatewayProxyEventV2) {
  try {
    return { ok: true as const, value: read(event) };
  } catch (error) {
    if (error instanceof ValidationError) return { ok: false as const, issues: error.issues };
    throw error;
  }
}

/** The IAM principal that signed an admin call (the local runtime names its admin token's holder alike). */
const principalOf = (event: APIGatewayProxyEventV2) =>
  (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam?.userArn ??
  'unknown';

/**
 * The Lambda handler of an HTTP function, over its handlers keyed by operation id. The route
 * table says, per route, what is checked before a handler runs: a tenant route's scope (then the
 * tenant's rate limit), the schemas of its path parameters, query and body (422 with field-level
 * reasons), and the audit entry of the call (tenant and admin routes); errors become problem+json.
 */
export function operationsHandler<F extends HttpFunction>(
  fn: F,
  operations: Operations<F>,
  options: OperationOptions = {},
) {
  const ops = operations as unknown as Record<string, Operation<string>>;
  const { guards } = options;
  const kind = ROUTES.find((r) => r.function === fn)?.auth ?? 'public';
  return middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(tracing())
    .use(problemErrors())
    .handler(async (event) => {
      if (event.routeKey === '$default' && options.unknownRoute) return json(options.unknownRoute(event));
      const route = byKey.get(event.routeKey);
      const spec = specOf(route?.function === fn ? ops[route.operationId] : undefined);
      // A route not in the table, or another function's, is refused as this function's own are checked.
      switch (kind) {
        case 'tenant':
          return json(await tenantCall(fn, event as TenantEvent, spec, guards));
        case 'admin':
          return json(await adminCall(fn, event, spec, guards));
        default: {
          const found = routeFor(fn, event);
          await options.authenticate?.(event);
          return json(await run(found, spec, { event }, event));
        }
      }
    });
}

type Parts = ReturnType<typeof parse>;

async function run(
  route: Route,
  spec: OperationSpec<string> | undefined,
  context: Record<string, unknown>,
  event: APIGatewayProxyEventV2,
  read?: () => Parts,
): Promise<HttpResult> {
  // A table route of this function with no handler: a type error in the function, a 404 here.
  if (!spec) throw new NotFoundError('route', event.routeKey);
  const parsed = read ? read() : parse(route, spec, event);
  return spec.handle({ ...parsed, ...context } as unknown as OperationRequest<string>);
}

async function tenantCall(
  fn: HttpFunction,
  event: TenantEvent,
  spec: OperationSpec<string> | undefined,
  guards: RouteGuards | undefined,
): Promise<HttpResult> {
  let route: Route | undefined;
  let read: (() => Parts) | undefined;
  const relays = spec?.relays;
  return asTenant(
    event,
    guards,
    () => {
      route = routeFor(fn, event);
      return route.scope ?? 'admin';
    },
    // scopeOf ran first: the route is this function's.
    (tenant, admitted) => run(route as Route, spec, { tenant, event, admitted }, event, read),
    {
      alongside: spec?.admitAlongside === true,
      // A request the EU API takes whole is read first, to tell; one that cannot be read is
      // admitted here as any other (a tenant past its limit gets 429 for it, not 422).
      here:
        spec && relays
          ? (tenant) => {
              let parts: Parts;
              try {
                parts = parse(route as Route, spec, event);
              } catch (error) {
                read = () => {
                  throw error;
                };
                return true;
              }
              read = () => parts;
              return !relays(parts as Parsed<string>, event, tenant);
            }
          : undefined,
    },
  );
}

/** Every operator action joins the trail of the tenant it concerns (`operator` for none). */
async function adminCall(
  fn: HttpFunction,
  event: APIGatewayProxyEventV2,
  spec: OperationSpec<string> | undefined,
  guards: RouteGuards | undefined,
): Promise<HttpResult> {
  let tenantId = event.pathParameters?.tenantId;
  const who: { tenantId: string; actor: AuditActor } = {
    get tenantId() {
      return tenantId ?? 'operator';
    },
    actor: { type: 'operator', principal: principalOf(event) },
  };
  return audited(event, guards, who, async () => {
    const route = routeFor(fn, event);
    const out = await run(route, spec, { event }, event);
    tenantId ??= spec?.auditTenant?.(out);
    return out;
  });
}
