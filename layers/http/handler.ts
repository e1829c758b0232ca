import middy from '@middy/core';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import * as z from 'zod';
import type { Scope } from '../core/api-keys.ts';
import { type AuditActor, type AuditEntry, auditId, auditSafe, WITHHELD_ID } from '../core/audit.ts';
import {
  type FieldIssue,
  ForbiddenError,
  MalformedRequestError,
  NotFoundError,
  RateLimitedError,
  SendRefusedError,
  ServiceUnavailableError,
  UnauthorizedError,
  ValidationError,
} from '../core/errors.ts';
import type { Jurisdiction, TenantContext } from '../core/model.ts';
import { countRefusal, flushMetrics, logger, tracing } from '../telemetry.ts';
import { inTenantScope } from '../tenant-scope.ts';
import { toProblem } from './problems.ts';
import { ROUTES } from './routes.ts';
import { AuthorizerContext } from './schemas.ts';

export type TenantEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>;
export type HttpResult = {
  status: number;
  body?: unknown;
  headers?: Record<string, string> | undefined;
  /** A text answer (an export) sent as is, with its own content-type header. */
  text?: string | undefined;
  /**
   * The EU region's answer to a relayed request: that region audits the call itself, so this
   * region's trail (which must not hold an EU message's id) leaves it out.
   */
  relayed?: true | undefined;
};
export type HttpResponse = APIGatewayProxyStructuredResultV2;

export function json(result: HttpResult): HttpResponse {
  const problemBody = result.status >= 400;
  return {
    statusCode: result.status,
    headers: {
      'content-type': problemBody ? 'application/problem+json' : 'application/json',
      ...result.headers,
    },
    body: result.text ?? (result.body === undefined ? '' : JSON.stringify(result.body)),
  };
}

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The field-level reasons of a zod error: a JSON Pointer into the body (`prefix` for a batch
 * item) or the query or path parameter's name. An unknown key is named by its own pointer (zod
 * reports it on its object: "/" would name a member called "", RFC 6901). A parameter's reason
 * says what it expects (`limit: a whole number from 1 to 100`), read from `schema`.
 */
export function issuesFrom(
  error: z.ZodError,
  where: 'pointer' | 'parameter',
  prefix = '',
  schema?: z.ZodType,
): FieldIssue[] {
  const issues = error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => unknownKey([...path, key], where, prefix, schema));
    }
    if (where === 'parameter') {
      const name = path[0] ?? '(parameters)';
      // A check beyond the type (a range of days, a cursor) says its own reason.
      const reason =
        issue.code === 'custom' ? issue.message : (expectedOf(schema, name, issue) ?? issue.message);
      return [{ parameter: name, detail: `${name}: ${reason}` }];
    }
    const field = path.join('.');
    return [
      {
        pointer: prefix + path.map((p) => `/${escapePointer(p)}`).join(''),
        detail: path.length > 0 ? `'${field}' ${issue.message}` : issue.message,
      },
    ];
  });
  return firstPerField(issues);
}

/** One reason per field (the first): a field that fails several checks is still one mistake. */
export function firstPerField(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.pointer ?? ''}\0${i.parameter ?? ''}\0${i.header ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function unknownKey(path: string[], where: 'pointer' | 'parameter', prefix: string, schema?: z.ZodType) {
  if (where === 'parameter') {
    const known = Object.keys(shapeOf(schema) ?? {});
    const name = path.join('.');
    return {
      parameter: name,
      detail: `${name}: not a parameter of this route${known.length > 0 ? ` (${known.join(', ')})` : ''}`,
    };
  }
  return {
    pointer: prefix + path.map((p) => `/${escapePointer(p)}`).join(''),
    detail: `'${path.join('.')}' is not a field of this request`,
  };
}

const shapeOf = (schema: z.ZodType | undefined) =>
  (schema as { shape?: Record<string, z.ZodType> } | undefined)?.shape;

/** What a query or path parameter expects, in words, from its schema (as the document states it). */
function expectedOf(
  schema: z.ZodType | undefined,
  name: string,
  issue: z.core.$ZodIssue,
): string | undefined {
  const field = shapeOf(schema)?.[name];
  if (!field) return undefined;
  const j = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as {
    type?: string;
    enum?: unknown[];
    format?: string;
    minimum?: number;
    maximum?: number;
    maxLength?: number;
    minLength?: number;
  };
  if (j.enum) return `one of ${j.enum.join(', ')}`;
  if (j.type === 'integer' || j.type === 'number') {
    const what = j.type === 'integer' ? 'a whole number' : 'a number';
    if (j.minimum !== undefined && j.maximum !== undefined)
      return `${what} from ${j.minimum} to ${j.maximum}`;
    if (j.minimum !== undefined) return `${what} of at least ${j.minimum}`;
    return what;
  }
  if (j.format === 'date-time') return 'a date and time in ISO 8601, such as 2026-11-01T00:00:00Z';
  if (j.format === 'date') return 'a date in ISO 8601, such as 2026-11-01';
  // A pattern's own message says what it expects (the schema words it so); a length does not.
  if (j.type === 'string' && (issue.code === 'too_big' || issue.code === 'too_small')) {
    return `text of ${j.minLength ?? 0} to ${j.maxLength ?? 'any number of'} characters`;
  }
  return undefined;
}

export function parseJsonBody(event: APIGatewayProxyEventV2): unknown {
  const type = event.headers['content-type'] ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new MalformedRequestError("Send the body as JSON with 'Content-Type: application/json'.");
  }
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  try {
    return JSON.parse(raw);
  } catch {
    throw new MalformedRequestError('The body is not valid JSON.');
  }
}

export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: 'pointer' | 'parameter',
): z.infer<T> {
  return whole({ value: readWith(schema, value, where) }).value;
}

/** One part of a request as read: its value, or the field-level reasons it cannot be taken. */
export type Read<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };
type ValueOf<R> = R extends { ok: true; value: infer T } ? T : never;

/** Reads one part of a request (`prefix`: a batch item's pointer) with its schema. */
export function readWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: 'pointer' | 'parameter',
  prefix = '',
): Read<z.infer<T>> {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, issues: issuesFrom(parsed.error, where, prefix, schema) };
}

/**
 * The value of every part, or one ValidationError naming every invalid field of every part: a
 * bad path parameter never hides a bad body field, nor a bad header a bad query parameter.
 * `check` then compares parts that are valid on their own (a body field that must repeat a path
 * parameter), whether or not the others are.
 */
export function whole<T extends Record<string, Read<unknown>>>(
  parts: T,
  check?: (valid: { [K in keyof T]?: ValueOf<T[K]> }) => FieldIssue[],
): { [K in keyof T]: ValueOf<T[K]> } {
  const valid: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  for (const [name, part] of Object.entries(parts)) {
    if (part.ok) valid[name] = part.value;
    else issues.push(...part.issues);
  }
  issues.push(...(check?.(valid as { [K in keyof T]?: ValueOf<T[K]> }) ?? []));
  if (issues.length > 0) throw new ValidationError(firstPerField(issues));
  return valid as { [K in keyof T]: ValueOf<T[K]> };
}

/** The schemas of a request's parts: the route table's, which the OpenAPI document shows. */
export interface RequestSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}
type RequestOf<S extends RequestSchemas> = {
  [K in keyof S]: S[K] extends z.ZodType ? z.infer<S[K]> : never;
};

/** A request's parts as they came, before any schema read them. */
export interface RawRequest {
  params: unknown;
  query: unknown;
  body: unknown;
}

/**
 * Reads a request's path parameters, query and JSON body at once: a 422 names every invalid field
 * of all three (a body that is no JSON is a 400 of its own). `check` compares parts (a body field
 * that must repeat a path parameter): it gets the parts that are valid, and the raw ones, so it
 * can judge a field whose own part has other mistakes.
 */
export function parseRequest<S extends RequestSchemas>(
  event: APIGatewayProxyEventV2,
  schemas: S,
  check?: (valid: Partial<RequestOf<S>>, raw: RawRequest) => FieldIssue[],
): RequestOf<S> {
  const raw: RawRequest = {
    params: event.pathParameters ?? {},
    query: event.queryStringParameters ?? {},
    body: schemas.body ? parseJsonBody(event) : undefined,
  };
  const parts: Record<string, Read<unknown>> = {};
  if (schemas.params) parts.params = readWith(schemas.params, raw.params, 'parameter');
  if (schemas.query) parts.query = readWith(schemas.query, raw.query, 'parameter');
  if (schemas.body) parts.body = readWith(schemas.body, raw.body, 'pointer');
  return whole(parts, check && ((valid) => check(valid as Partial<RequestOf<S>>, raw))) as RequestOf<S>;
}

/** Reads the tenant from the authorizer's context: the only source of tenant identity. */
export function tenantFrom(event: TenantEvent, scope: Scope): TenantContext {
  const parsed = AuthorizerContext.safeParse(event.requestContext.authorizer?.lambda);
  if (!parsed.success) throw new UnauthorizedError('A valid API key is required.');
  const ctx = parsed.data;
  if (!ctx.authenticated) {
    // The key could not be looked up (DynamoDB down): the client retries, its key is not bad.
    if (ctx.unavailable) throw new ServiceUnavailableError(ctx.reason, ctx.retryAfterSeconds ?? 1);
    throw new UnauthorizedError(ctx.reason);
  }
  const scopes = ctx.scopes.split(',') as Scope[];
  if (!scopes.includes(scope) && !scopes.includes('admin')) throw new ForbiddenError(scope);
  return {
    tenantId: ctx.tenantId,
    keyId: ctx.keyId,
    mode: ctx.mode,
    scopes,
    retention: { bodyDays: ctx.bodyRetentionDays, metadataDays: ctx.metadataRetentionDays },
    residency: ctx.residency,
  };
}

/**
 * The jurisdiction of the endpoint that took the request: the API stage's `jurisdiction`
 * variable when set (the local runtime sets it per port), else the function's own.
 */
export function endpointJurisdiction(event: APIGatewayProxyEventV2, own: Jurisdiction): Jurisdiction {
  const v = event.stageVariables?.jurisdiction;
  return v === 'eu' || v === 'global' ? v : own;
}

export function idempotencyKeyFrom(event: APIGatewayProxyEventV2): string | undefined {
  return whole({ key: readIdempotencyKey(event) }).key;
}

/** The request's Idempotency-Key header, if any: 1 to 255 visible ASCII characters. */
export function readIdempotencyKey(event: APIGatewayProxyEventV2): Read<string | undefined> {
  const key = event.headers['idempotency-key'];
  if (key === undefined || /^[\x21-\x7e]{1,255}$/.test(key)) return { ok: true, value: key };
  return {
    ok: false,
    issues: [{ header: 'Idempotency-Key', detail: 'Idempotency-Key: 1 to 255 visible ASCII characters' }],
  };
}

/** The error boundary of every HTTP function: errors become problem+json, 5xx without internals. */
export function problemErrors(): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResponse> {
  return {
    onError: async (request) => {
      const problem = toProblem(request.error);
      if (problem.status >= 500) {
        // The name only: an SDK message can quote request values, and logs carry no personal data.
        logger.error('request failed', {
          requestId: request.event.requestContext?.requestId,
          route: request.event.routeKey,
          error: request.error?.name,
        });
      } else if (request.error instanceof RateLimitedError) {
        countRefusal('rate_limited');
      } else if (request.error instanceof SendRefusedError) {
        countRefusal(request.error.reason);
      }
      flushMetrics();
      request.response = json({ status: problem.status, body: problem.body, headers: problem.headers });
    },
  };
}

/** What a route function may do besides its work: admit the request, and record it in the audit trail. */
export interface RouteGuards {
  /** The tenant's request rate limit: throws RateLimitedError past it. */
  admit?: ((tenant: TenantContext) => Promise<void>) | undefined;
  /** Takes the call's audit entry; never throws (a failure is logged and counted). */
  audit?: ((entry: AuditInput, event: APIGatewayProxyEventV2) => Promise<void>) | undefined;
}

/**
 * An entry as the HTTP layer sees it. `dataJurisdiction`: where the data the call touched lives,
 * when the answer says (a message's jurisdiction); the entry is kept there.
 */
export type AuditInput = Omit<AuditEntry, 'id' | 'jurisdiction'> & {
  dataJurisdiction?: Jurisdiction | undefined;
};

const operationIds = new Map(ROUTES.map((r) => [`${r.method} ${r.path}`, r.operationId]));

/**
 * Ids a call named (path parameters) or created (the answer's `id` or `message.id`), and the
 * jurisdiction of that data. Phone numbers in paths are left out, not masked: the trail holds
 * no part of anyone's number; any other path value that is not a well-formed id (a number put
 * in an id's place, say) is recorded as `invalid-id`.
 */
function targetsOf(event: APIGatewayProxyEventV2, body: unknown) {
  const targets = Object.entries(event.pathParameters ?? {})
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'phone')
    .map(([, v]) => auditId(v));
  const answer = body as
    | { id?: unknown; jurisdiction?: unknown; message?: { id?: unknown; jurisdiction?: unknown } }
    | undefined;
  const id = answer?.id ?? answer?.message?.id;
  if (typeof id === 'string' && !targets.includes(auditId(id))) targets.push(auditId(id));
  const j = answer?.message?.jurisdiction ?? answer?.jurisdiction;
  return { targets, dataJurisdiction: j === 'eu' || j === 'global' ? (j as Jurisdiction) : undefined };
}

/**
 * Runs a call and hands its audit entry to `guards.audit`, whatever the outcome: the entry names
 * the actor, the operation, the ids, the caller's IP and user agent, and the status answered.
 */
export async function audited(
  event: APIGatewayProxyEventV2,
  guards: RouteGuards | undefined,
  who: { tenantId: string; actor: AuditActor } | undefined,
  run: () => Promise<HttpResult>,
): Promise<HttpResult> {
  let status = 500;
  let body: unknown;
  let notSearched: Jurisdiction | undefined;
  let relayed = false;
  try {
    const result = await run();
    status = result.status;
    body = result.body;
    relayed = result.relayed === true;
    return result;
  } catch (error) {
    status = toProblem(error).status;
    if (error instanceof NotFoundError) notSearched = error.notSearched;
    throw error;
  } finally {
    if (who && guards?.audit && !relayed) {
      const found = targetsOf(event, body);
      // An id not found here that may be the other jurisdiction's (a strict tenant's at the
      // global endpoint, which searched its own region only): this trail keeps the call, not the
      // id, so an EU message's id never lands in the global trail, and no trail of the other
      // region is written from here.
      const targets = notSearched ? found.targets.map(() => WITHHELD_ID) : found.targets;
      const dataJurisdiction = notSearched ? undefined : found.dataJurisdiction;
      await guards.audit(
        {
          ...auditSafe({
            tenantId: who.tenantId,
            at: new Date().toISOString(),
            actor: who.actor,
            action: operationIds.get(event.routeKey) ?? event.routeKey,
            route: event.routeKey,
            targets,
            ip: sourceIp(event),
            userAgent: (event.headers?.['user-agent'] ?? '').slice(0, 256),
            outcome: status < 400 ? 'success' : 'failure',
            status,
            requestId: event.requestContext?.requestId,
          }),
          dataJurisdiction,
        },
        event,
      );
    }
  }
}

/** When a tenant call is admitted against the tenant's rate limit. */
export interface Admission {
  /** While the work's first calls run, not before them (the work stores nothing before `admitted`). */
  alongside?: boolean | undefined;
  /**
   * Whether this region admits the call at all: not one the EU API takes whole (forward
   * residency's relay), which admits it there, once. Decided before admission starts.
   */
  here?: ((tenant: TenantContext) => boolean) | undefined;
}

/**
 * A tenant call: the scope check (`scopeOf` names the scope wanted; it may refuse the route
 * itself), the tenant's request rate limit, then `fn`; every call with a valid key (refused ones
 * too) is audited.
 */
export async function asTenant(
  event: TenantEvent,
  guards: RouteGuards | undefined,
  scopeOf: () => Scope,
  fn: (tenant: TenantContext, admitted: Promise<void>) => Promise<HttpResult>,
  admission: Admission = {},
): Promise<HttpResult> {
  const auth = AuthorizerContext.safeParse(event.requestContext?.authorizer?.lambda);
  const who =
    auth.success && auth.data.authenticated
      ? { tenantId: auth.data.tenantId, actor: { type: 'api_key' as const, keyId: auth.data.keyId } }
      : undefined;
  const result = await audited(event, guards, who, async () => {
    const tenant = tenantFrom(event, scopeOf());
    // Every line this request logs names its tenant and request (ids only).
    logger.resetKeys();
    logger.appendKeys({ tenantId: tenant.tenantId, requestId: event.requestContext?.requestId });
    // Tenant data is reached with this tenant's credentials only (a tenant-scoped function's).
    return inTenantScope(tenant.tenantId, async () => {
      if (admission.here?.(tenant) === false) return fn(tenant, Promise.resolve());
      if (!admission.alongside) {
        await guards?.admit?.(tenant);
        return fn(tenant, Promise.resolve());
      }
      // The rate limit decided while the work's first calls run: the work stores nothing before
      // `admitted` settles (and gives back what it counted if it refuses), and a refusal answers
      // 429 whatever the work answered or threw.
      const admitted = guards?.admit?.(tenant) ?? Promise.resolve();
      admitted.catch(() => undefined); // awaited below on every path
      try {
        const result = await fn(tenant, admitted);
        await admitted;
        return result;
      } catch (error) {
        await admitted;
        throw error;
      }
    });
  });
  flushMetrics();
  return result;
}

/**
 * Wraps one handler as a tenant route of `scope`, behind the problem error boundary (the
 * functions use `operationsHandler`, which takes the scope from the route table).
 */
export function tenantRoute(
  scope: Scope,
  fn: (event: TenantEvent, tenant: TenantContext) => Promise<HttpResult>,
  guards?: RouteGuards,
) {
  return middy<TenantEvent, HttpResponse>()
    .use(tracing())
    .use(problemErrors() as middy.MiddlewareObj<TenantEvent, HttpResponse>)
    .handler(async (event) =>
      json(
        await asTenant(
          event,
          guards,
          () => scope,
          (tenant) => fn(event, tenant),
        ),
      ),
    );
}

/** The caller's IP address as API Gateway saw it. */
export const sourceIp = (event: APIGatewayProxyEventV2) => event.requestContext?.http?.sourceIp ?? 'unknown';
