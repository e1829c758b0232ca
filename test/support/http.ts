import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { documentedResponses } from '../../layers/http/route.ts';
import { ROUTES } from '../../layers/http/routes.ts';
import { GatewayMessage } from '../../layers/http/schemas.ts';
import { rememberSensitive } from './log-guard.ts';

const E164 = /\+[1-9]\d{6,14}/g;

/** Numbers and bodies a request carries: none may appear in any log (log-guard.ts). */
function rememberRequest(path: string, body: unknown) {
  for (const n of decodeURIComponent(path).match(E164) ?? []) rememberSensitive(n, 'phone number');
  const items = Array.isArray((body as { messages?: unknown })?.messages)
    ? ((body as { messages: unknown[] }).messages as Record<string, unknown>[])
    : [body as Record<string, unknown> | undefined];
  for (const item of items) {
    if (!item || typeof item !== 'object') continue;
    for (const field of ['to', 'phone', 'from']) {
      const v = item[field];
      if (typeof v === 'string' && /^\+\d{7,15}$/.test(v)) rememberSensitive(v, 'phone number');
    }
    rememberSensitive(item.body, 'message body');
  }
}

const compiled = ROUTES.map((r) => ({
  route: r,
  regex: new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`),
}));

/**
 * Checks a handler's response against the OpenAPI document's source (the route table's zod
 * schemas, strict): an undocumented status, a body that does not match, a field the schema does
 * not name, or a body on a 204 fails the test. API Gateway's own errors
 * ({"message": "..."}: a string, unlike a sent message's {"message": {...}}) are not the
 * handlers' and are skipped.
 */
export function conformsToDocument(method: string, path: string, status: number, body: unknown) {
  const pathname = new URL(path, 'http://x').pathname;
  const match = compiled.find((c) => c.route.method === method && c.regex.test(pathname));
  if (!match) return;
  if (GatewayMessage.safeParse(body).success) return;
  const documented = documentedResponses(match.route)[status];
  expect(
    documented,
    `${method} ${match.route.path} answered ${status}, which the document does not list`,
  ).toBeDefined();
  if (documented?.schema && typeof body !== 'string') {
    const parsed = documented.schema.safeParse(body);
    expect(
      parsed.success,
      `${method} ${match.route.path} ${status} does not match its schema: ${parsed.error?.message}`,
    ).toBe(true);
  }
  if (status === 204) {
    expect(body, `${method} ${match.route.path} ${status} has a body, which a 204 does not carry`).toBe(
      undefined,
    );
  }
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small HTTP client for the gateway, as a developer would call it. */
export function client(baseUrl: string) {
  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: {
      key?: string;
      token?: string;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiResponse<T>> {
    rememberRequest(path, options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined || options.raw !== undefined)
      headers['content-type'] ??= 'application/json';
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
    const text = await res.text();
    const isJson = /json/.test(res.headers.get('content-type') ?? 'application/json');
    // Exports (CSV, NDJSON) come back as their text.
    const body = (
      text
        ? isJson && !/ndjson/.test(res.headers.get('content-type') ?? '')
          ? JSON.parse(text)
          : text
        : undefined
    ) as T;
    rememberSensitive((body as { secret?: unknown } | undefined)?.secret, 'API key');
    rememberSensitive((body as { token?: unknown } | undefined)?.token, 'carrier token');
    conformsToDocument(method, path, res.status, body);
    return { status: res.status, headers: res.headers, body };
  }
  return { call };
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A message once it reads `delivered` at that endpoint (waited for), as the API shows it. */
export const deliveredMessage = <M extends { status: string } = { id: string; status: string }>(
  c: ReturnType<typeof client>,
  key: string,
  id: string,
) =>
  waitFor(async () => {
    const res = await c.call<M>('GET', `/v1/messages/${id}`, { key });
    return res.body.status === 'delivered' ? res.body : undefined;
  }, `message ${id} delivered`);

/** Asserts an RFC 9457 problem response of the given status and type slug. */
export function expectProblem(res: ApiResponse, status: number, slug: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body).toMatchObject({ status, type: `https://sms-gateway.dev/problems/${slug}` });
}

/** Creates a tenant and a key through the admin API. */
export async function onboard(
  api: ReturnType<typeof client>,
  adminToken: string,
  options: {
    name?: string;
    mode?: 'live' | 'test';
    scopes?: string[];
    residency?: 'forward' | 'strict';
    /** The tenant's home jurisdiction (global unless said); an EU one applies for its sender IDs at the EU endpoint. */
    home?: 'global' | 'eu';
    retention?: { bodyDays?: number; metadataDays?: number };
    /** Sender IDs to apply for and approve (a live key sends only from approved ones). */
    senders?: string[];
  } = {},
) {
  const tenant = await api.call<{ id: string }>('POST', '/admin/tenants', {
    token: adminToken,
    body: {
      displayName: options.name ?? 'Acme',
      legalName: `${options.name ?? 'Acme'} Ltd`,
      contactEmail: 'ops@acme.test',
      homeJurisdiction: options.home ?? 'global',
      ...(options.residency ? { residency: options.residency } : {}),
      ...(options.retention ? { retention: options.retention } : {}),
    },
  });
  expect(tenant.status).toBe(201);
  const key = await api.call<{ id: string; secret: string }>(
    'POST',
    `/admin/tenants/${tenant.body.id}/keys`,
    {
      token: adminToken,
      body: { name: 'e2e', mode: options.mode ?? 'live', scopes: options.scopes ?? ['send', 'read'] },
    },
  );
  expect(key.status).toBe(201);
  const senders = options.senders ?? ['Acme', 'Globex', 'Lister'];
  if (senders.length > 0) {
    const owner = await api.call<{ secret: string }>('POST', `/admin/tenants/${tenant.body.id}/keys`, {
      token: adminToken,
      body: { name: 'e2e owner', mode: 'live', scopes: ['admin'] },
    });
    for (const value of senders)
      await approveSender(api, adminToken, tenant.body.id, owner.body.secret, value);
  }
  return { tenantId: tenant.body.id, keyId: key.body.id, key: key.body.secret };
}

/** Issues a live key with the admin scope (audit trail, usage, webhooks) through the admin API. */
export async function issueOwnerKey(api: ReturnType<typeof client>, adminToken: string, tenantId: string) {
  const owner = await api.call<{ id: string; secret: string }>('POST', `/admin/tenants/${tenantId}/keys`, {
    token: adminToken,
    body: { name: 'owner', mode: 'live', scopes: ['admin'] },
  });
  expect(owner.status).toBe(201);
  return owner.body;
}

/** Applies for a sender ID as the tenant and approves it as the operator, through the API. */
export async function approveSender(
  api: ReturnType<typeof client>,
  adminToken: string,
  tenantId: string,
  ownerKey: string,
  value: string,
) {
  const applied = await api.call<{ id: string }>('POST', '/v1/sender-ids', {
    key: ownerKey,
    body: { value, identity: SENDER_IDENTITY },
  });
  expect(applied.status).toBe(201);
  const decided = await api.call(
    'POST',
    `/admin/tenants/${tenantId}/sender-ids/${applied.body.id}/decision`,
    {
      token: adminToken,
      body: { decision: 'approved' },
    },
  );
  expect(decided.status).toBe(200);
  return applied.body.id;
}

export const SENDER_IDENTITY = {
  companyName: 'Acme Ltd',
  registrationNumber: 'HRB 12345',
  address: '1 Main Street, Springfield',
  contactName: 'Ada Admin',
  contactEmail: 'ada@acme.test',
  useCase: 'Order and delivery notifications',
};

/** A carrier token issued by the operator (the carrier's credential for /carrier/v1/*). */
export async function carrierToken(api: ReturnType<typeof client>, adminToken: string) {
  const issued = await api.call<{ token: string }>('POST', '/admin/carrier-token', { token: adminToken });
  return issued.body.token;
}

/** A person's reply (`from`, answering `to`) as a carrier reports it to /carrier/v1/inbound, received now. */
export const carrierReply = (from: string, to: string, body: string) => ({
  from,
  to,
  body,
  carrierMessageId: `carrier-${randomBytes(4).toString('hex')}`,
  receivedAt: new Date().toISOString(),
});
