import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_GATEWAY_MESSAGE_BUDGET,
  DEFAULT_ORIGINATION,
  environmentOf,
} from '../../infra/cdk/environment.ts';
import { functionFile } from '../../infra/function-files.ts';
import { lambdaContext } from '../../infra/local/http-gateway.ts';
import { clearDeclaredSettings } from '../../layers/config.ts';
import { RateLimitedError, ValidationError } from '../../layers/core/errors.ts';
import { type FunctionDeclaration, settingsOf } from '../../layers/declaration.ts';
import type { HttpResponse } from '../../layers/http/handler.ts';
import { operationsHandler } from '../../layers/http/operations.ts';
import { HTTP_FUNCTIONS, type HttpFunction, routeKey } from '../../layers/http/route.ts';
import { ROUTES } from '../../layers/http/routes.ts';
import { type DeployContext, settingSpec } from '../../layers/settings.ts';
import { apiEvent } from '../support/api-event.ts';

/** A deployment's context with made-up resource names: enough to load a function's module. */
const DEPLOY: DeployContext = {
  jurisdiction: 'global',
  regions: { global: 'us-east-1', eu: 'eu-west-1' },
  account: '123456789012',
  apiUrls: { global: 'https://api.example.com', eu: 'https://eu.api.example.com' },
  carrier: { kind: 'sandbox' },
  origination: JSON.stringify(DEFAULT_ORIGINATION),
  gatewayMessageBudget: JSON.stringify(DEFAULT_GATEWAY_MESSAGE_BUDGET),
  dispatchMaxConcurrency: 2,
  resources: {
    messagesTable: (j) => `sms-gateway-${j}-messages`,
    queueUrl: (j, q) => `https://sqs.us-east-1.amazonaws.com/123456789012/${j}-${q}`,
    tenantsTable: 'sms-gateway-tenants',
    systemKeyId: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    globalSystemKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  },
};

const STACK_SET: Record<string, string> = {
  TENANT_ACCESS_ROLE_ARN: 'arn:aws:iam::123456789012:role/tenant-access',
};

const saved = { ...process.env };
function restoreEnv() {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
}
afterAll(() => {
  restoreEnv();
  clearDeclaredSettings();
});

/** A function's module as its instance loads it: its declared environment set first. */
async function load(name: HttpFunction) {
  vi.resetModules();
  restoreEnv();
  const { declaration } = (await import(pathToFileURL(functionFile(name, '.def.ts')).href)) as {
    declaration: FunctionDeclaration;
  };
  Object.assign(process.env, environmentOf(declaration, DEPLOY));
  // What the stack sets beside the resources it names.
  for (const setting of settingsOf(declaration, 'global')) {
    if (settingSpec(setting).setByStack) process.env[setting] = STACK_SET[setting] ?? 'x';
  }
  return (await import(pathToFileURL(functionFile(name)).href)) as { operations: Record<string, unknown> };
}

const operationIdsOf = (name: HttpFunction) =>
  ROUTES.filter((r) => r.function === name)
    .map((r) => r.operationId)
    .sort();

describe('the route table and the functions', () => {
  it.each(HTTP_FUNCTIONS)('%s exports a handler for exactly its routes in the table', async (name) => {
    const { operations } = await load(name);
    expect(Object.keys(operations).sort()).toEqual(operationIdsOf(name));
  });
});

const TENANT = 'ten_01JD5Z8Q2N3M4K5J6H7G8F9E0D';
const KEY = 'key_01JD5Z8Q2N3M4K5J6H7G8F9E0D';
const key = (scopes: string) => ({
  authenticated: true,
  tenantId: TENANT,
  keyId: KEY,
  mode: 'live',
  scopes,
  bodyRetentionDays: 30,
  metadataRetentionDays: 365,
  residency: 'strict',
});
const event = (route: string, authorizer: Record<string, unknown> | undefined) =>
  apiEvent({
    routeKey: route,
    authorizer,
    sourceIp: '203.0.113.9',
    userAgent: 'test',
    requestId: 'req-1',
  });
const call = async (handler: ReturnType<typeof operationsHandler>, e: ReturnType<typeof event>) =>
  (await handler(e, lambdaContext('t', 1000))) as HttpResponse;
const problemType = (res: HttpResponse) => (JSON.parse(String(res.body)) as { type: string }).type;

/**
 * Each function's routes through the adapter, with handlers that only say they ran: what is
 * checked before a handler runs is the table's, whatever the function's handlers do.
 */
const RAN = 299;
function through(name: HttpFunction) {
  const ops = Object.fromEntries(
    ROUTES.filter((r) => r.function === name).map((r) => [
      r.operationId,
      { readBody: () => undefined, handle: async () => ({ status: RAN }) },
    ]),
  );
  // biome-ignore lint/suspicious/noExplicitAny: handlers built from the table itself, for every function
  return operationsHandler(name, ops as any);
}

const TENANT_ROUTES = ROUTES.filter((r) => r.auth === 'tenant');

describe('a tenant route through the adapter', () => {
  it.each(TENANT_ROUTES.map((r) => [routeKey(r), r] as const))(
    '%s: a key without its scope gets 403 forbidden, a key with it reaches the handler',
    async (key_, route) => {
      const handler = through(route.function);
      const scope = route.scope ?? 'admin';
      const others = ['read', 'send'].filter((s) => s !== scope).join(',');
      const refused = await call(handler, event(key_, key(others)));
      expect(refused.statusCode).toBe(403);
      expect(refused.headers?.['content-type']).toBe('application/problem+json');
      expect(problemType(refused)).toBe('https://sms-gateway.dev/problems/forbidden');
      // It passes the scope check: the handler runs (a route with path parameters, here none, gets 422 first).
      const taken = await call(handler, event(key_, key(scope)));
      expect(taken.statusCode).toBe(route.params ? 422 : RAN);
    },
  );

  it.each(HTTP_FUNCTIONS.filter((f) => f !== 'get-openapi'))(
    '%s: a route that is not its own gets a 404 problem, never another operation',
    async (name) => {
      const handler = through(name);
      const foreign = ROUTES.filter((r) => r.function !== name).map(routeKey);
      for (const k of [...foreign, 'GET /v1/nowhere']) {
        const res = await call(handler, event(k, key('admin')));
        expect(res.statusCode, k).toBe(404);
        expect(res.headers?.['content-type'], k).toBe('application/problem+json');
      }
    },
  );

  it.each(['verifications', 'carrier-inbound'] as const)(
    "%s's own handler answers another function's route with a 404 problem, not one of its operations",
    async (name) => {
      const { handler } = (await load(name)) as unknown as { handler: ReturnType<typeof operationsHandler> };
      const res = await call(handler, event('POST /v1/messages', undefined));
      expect(res.statusCode).toBe(404);
      expect(problemType(res)).toBe('https://sms-gateway.dev/problems/not-found');
    },
  );

  it('get-openapi still answers a request no route takes ($default) with 404 or 405', async () => {
    const { handler } = (await load('get-openapi')) as unknown as {
      handler: ReturnType<typeof operationsHandler>;
    };
    const unknown = apiEvent({
      routeKey: '$default',
      authorizer: undefined,
      sourceIp: '203.0.113.9',
      userAgent: 'test',
      requestId: 'req-1',
    });
    unknown.requestContext.http.path = '/v1/nowhere';
    expect((await call(handler, unknown)).statusCode).toBe(404);
    unknown.requestContext.http.path = '/v1/messages';
    unknown.requestContext.http.method = 'PATCH';
    const res = await call(handler, unknown);
    expect(res.statusCode).toBe(405);
    expect(res.headers?.allow).toBe('GET, POST');
    expect(problemType(await call(handler, event('POST /v1/messages', undefined)))).toBe(
      'https://sms-gateway.dev/problems/not-found',
    );
  });
});

describe("a tenant route's rate limit and forward residency's relay", () => {
  const SEND = 'POST /v1/messages';
  const withBody = (body: string) => ({ ...event(SEND, key('send')), body });
  /** send-message's operation with a handler that says what it got, and a rate limit that counts. */
  function relaying(options: { refuse?: boolean } = {}) {
    const admitted: string[] = [];
    const reads: string[] = [];
    const handler = operationsHandler(
      'send-message',
      {
        sendMessage: {
          readBody: (e) => {
            reads.push(String(e.body));
            const parsed = JSON.parse(String(e.body)) as { to?: unknown };
            if (typeof parsed.to !== 'string') {
              throw new ValidationError([{ pointer: '/to', detail: 'to: a phone number' }]);
            }
            return { to: parsed.to, from: 'Acme', body: 'Hi' };
          },
          admitAlongside: true,
          relays: ({ body }) => body.to.startsWith('+49'),
          handle: async ({ body, admitted: done }) => {
            await done;
            return { status: 202, body: { to: body.to } };
          },
        },
      },
      {
        guards: {
          admit: async (tenant) => {
            admitted.push(tenant.tenantId);
            if (options.refuse) throw new RateLimitedError(7);
          },
        },
      },
    );
    return { handler, admitted, reads };
  }

  it('does not admit a request the operation relays whole (the EU API admits it), and reads its body once', async () => {
    const { handler, admitted, reads } = relaying({ refuse: true });
    const res = await call(handler, withBody('{"to":"+4915123456789"}'));
    expect(res.statusCode).toBe(202);
    expect(admitted).toEqual([]);
    expect(reads).toHaveLength(1);
  });

  it('admits a request it does not relay, once: past the limit it is 429 with Retry-After', async () => {
    const taken = relaying();
    expect((await call(taken.handler, withBody('{"to":"+12025550100"}'))).statusCode).toBe(202);
    expect(taken.admitted).toEqual([TENANT]);
    const refused = relaying({ refuse: true });
    const res = await call(refused.handler, withBody('{"to":"+12025550100"}'));
    expect(res.statusCode).toBe(429);
    expect(res.headers?.['retry-after']).toBe('7');
    expect(refused.admitted).toEqual([TENANT]);
  });

  it('admits a request whose body cannot be read as any other: 429 past the limit, else 422', async () => {
    const refused = relaying({ refuse: true });
    expect((await call(refused.handler, withBody('{"to":1}'))).statusCode).toBe(429);
    expect(refused.admitted).toEqual([TENANT]);
    expect(refused.reads).toHaveLength(1);
    const taken = relaying();
    expect((await call(taken.handler, withBody('{"to":1}'))).statusCode).toBe(422);
    expect(taken.admitted).toEqual([TENANT]);
  });
});
