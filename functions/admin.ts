import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from 'zod';
import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { CARRIER_TOKEN_SECRET, generateCarrierToken, hashApiKey } from '#layers/core/api-keys.ts';
import { MisdirectedError, NotFoundError } from '#layers/core/errors.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import { makeCloseAccount } from '#layers/core/use-cases/close-account.ts';
import { makeTenantAdmin } from '#layers/core/use-cases/manage-tenants.ts';
import { loadSettings } from '#layers/declaration.ts';
import { AUDIT_COLUMNS, exportPage } from '#layers/http/export.ts';
import {
  audited,
  endpointJurisdiction,
  type HttpResult,
  json,
  parseJsonBody,
  parseRequest,
  parseWith,
  problemErrors,
} from '#layers/http/handler.ts';
import * as s from '#layers/http/schemas.ts';
import { tracing } from '#layers/telemetry.ts';
import {
  auditTrail,
  counters,
  endpoints,
  idempotencyKeyScope,
  keyringStore,
  keyService,
  messageStore,
  onDemand,
  ownJurisdiction,
  pepper,
  recordAudit,
  secretStore,
  senderIds,
  tenantCrypto,
  tenantStore,
  usageReports,
  webhookHistory,
} from '#layers/wiring.ts';
import { declaration } from './admin.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
const settings = loadSettings(declaration);

const senders = senderIds();
const trail = auditTrail();

/**
 * The jurisdictions this region's admin reaches: in the global region its own only (the EU half
 * of an operator action is the EU endpoint's); in the EU region also the global one, which moves
 * no EU data out of the EU.
 */
const here = ownJurisdiction();
const reach: readonly Jurisdiction[] = here === 'eu' ? ['eu', 'global'] : ['global'];

/** Work on a jurisdiction this region does not reach is the other endpoint's (421 naming it). */
function requireReach(j: Jurisdiction, what: string) {
  if (!reach.includes(j)) {
    throw new MisdirectedError(
      j,
      endpoints()[j],
      `${what}: ask the ${j === 'eu' ? 'EU' : 'global'} endpoint.`,
    );
  }
}

/**
 * A tenant's home key is made at its creation where this region reaches it; an EU-home tenant
 * created at the global endpoint gets its EU key on first use in the EU region, as any tenant's
 * other key is made.
 */
const admin = makeTenantAdmin({
  tenants: tenantStore(),
  ids: ulidIds,
  clock: systemClock,
  pepper,
  createTenantKey: async (tenantId, j) => {
    if (reach.includes(j)) await tenantCrypto(j).ensureTenantKey(tenantId);
  },
});

/** Each region's admin endpoint closes its own jurisdiction (the admin CLI calls both). */
const closeAccount = makeCloseAccount({
  tenants: tenantStore(),
  messages: onDemand(messageStore),
  idempotencyScope: idempotencyKeyScope(),
  counters: counters(),
  webhookHistory: onDemand(webhookHistory),
  keyrings: onDemand(keyringStore),
  keys: onDemand(keyService),
  crypto: onDemand(tenantCrypto),
  clock: systemClock,
  keyDeletionDays: settings.KEY_DELETION_DAYS,
  backupWindowDays: settings.BACKUP_WINDOW_DAYS,
  recordsRetentionDays: settings.CLOSED_RECORDS_DAYS,
  jurisdictions: [here],
  endpoints: endpoints(),
});

type Action = (event: APIGatewayProxyEventV2) => Promise<HttpResult>;
const params = <T extends z.ZodType>(schema: T, e: APIGatewayProxyEventV2): z.infer<T> =>
  parseWith(schema, e.pathParameters ?? {}, 'parameter');
const body = <T extends z.ZodType>(schema: T, e: APIGatewayProxyEventV2): z.infer<T> =>
  parseWith(schema, parseJsonBody(e), 'pointer');

/**
 * Operator routes. API Gateway authorises them with IAM before this runs (locally, the
 * runtime checks the admin token), so no tenant API key can reach them.
 */
const actions: Record<string, Action> = {
  'POST /admin/tenants': async (e) => ({
    status: 201,
    body: await admin.createTenant(body(s.CreateTenantRequest, e)),
  }),
  'GET /admin/tenants': async () => ({ status: 200, body: { data: await admin.listTenants() } }),
  'GET /admin/tenants/{tenantId}': async (e) => ({
    status: 200,
    body: await admin.getTenant(params(s.TenantIdParams, e).tenantId),
  }),
  'POST /admin/tenants/{tenantId}/keys': async (e) => {
    const r = parseRequest(e, { params: s.TenantIdParams, body: s.CreateKeyRequest });
    return { status: 201, body: await admin.issueKey(r.params.tenantId, r.body) };
  },
  'GET /admin/tenants/{tenantId}/keys': async (e) => ({
    status: 200,
    body: { data: await admin.listKeys(params(s.TenantIdParams, e).tenantId) },
  }),
  'POST /admin/tenants/{tenantId}/keys/{keyId}/rotate': async (e) => {
    const r = parseRequest(e, { params: s.KeyIdParams, body: s.RotateKeyRequest });
    return {
      status: 201,
      body: await admin.rotateKey(r.params.tenantId, r.params.keyId, r.body.graceSeconds),
    };
  },
  'PUT /admin/tenants/{tenantId}/policy': async (e) => {
    const r = parseRequest(e, { params: s.TenantIdParams, body: s.UpdateTenantPolicyRequest });
    return { status: 200, body: await admin.updatePolicy(r.params.tenantId, r.body) };
  },
  'POST /admin/tenants/{tenantId}/close': async (e) => {
    const r = parseRequest(e, { params: s.TenantIdParams, body: s.CloseTenantRequest }, s.confirmsTenant);
    return { status: 200, body: await closeAccount(r.params.tenantId) };
  },
  'PUT /admin/tenants/{tenantId}/controls': async (e) => {
    const r = parseRequest(e, { params: s.TenantIdParams, body: s.UpdateControlsRequest });
    return { status: 200, body: await admin.updateControls(r.params.tenantId, r.body) };
  },
  'GET /admin/sender-ids': async () => ({ status: 200, body: await senders.listPending() }),
  'GET /admin/tenants/{tenantId}/sender-ids/{senderId}': async (e) => {
    const { tenantId, senderId } = params(s.SenderIdParams, e);
    // The identity details are sealed under the tenant's home jurisdiction's key.
    requireReach(
      await senders.home(tenantId),
      "This tenant's identity details are sealed under its EU key and are reviewed at the EU endpoint",
    );
    return { status: 200, body: await senders.review(tenantId, senderId) };
  },
  'POST /admin/tenants/{tenantId}/sender-ids/{senderId}/decision': async (e) => {
    const r = parseRequest(e, { params: s.SenderIdParams, body: s.SenderIdDecision });
    return { status: 200, body: await senders.decide(r.params.tenantId, r.params.senderId, r.body) };
  },
  'GET /admin/analytics': async (e) => ({
    status: 200,
    body: await usageReports().aggregates(
      parseWith(s.AnalyticsQuery, e.queryStringParameters ?? {}, 'parameter'),
      here,
    ),
  }),
  'GET /admin/audit-events': async (e) => {
    const { format, tenantId, ...q } = parseWith(
      s.AdminAuditQuery,
      e.queryStringParameters ?? {},
      'parameter',
    );
    const endpoint = endpointJurisdiction(e, here);
    requireReach(q.jurisdiction ?? endpoint, 'The EU trail is kept in the EU region');
    const page = await trail.list(tenantId ?? 'operator', undefined, q, endpoint);
    return exportPage(format, page, AUDIT_COLUMNS);
  },
  'POST /admin/carrier-token': async () => {
    const token = generateCarrierToken();
    await secretStore().put(CARRIER_TOKEN_SECRET, Buffer.from(hashApiKey(await pepper(), token)));
    return { status: 201, body: { token } };
  },
  'DELETE /admin/tenants/{tenantId}/keys/{keyId}': async (e) => {
    const { tenantId, keyId } = params(s.KeyIdParams, e);
    return { status: 200, body: await admin.revokeKey(tenantId, keyId) };
  },
};

/** The IAM principal that signed the call (the local runtime names its admin token's holder alike). */
const principalOf = (event: APIGatewayProxyEventV2) =>
  (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam?.userArn ??
  'unknown';

/** Every operator action joins the trail of the tenant it concerns (`operator` for none). */
export const handler = middy<APIGatewayProxyEventV2>()
  .use(tracing())
  .use(problemErrors())
  .handler(async (event) => {
    const action = actions[event.routeKey];
    if (!action) throw new NotFoundError('route', event.routeKey);
    let tenantId = event.pathParameters?.tenantId;
    const result = await audited(
      event,
      { audit: recordAudit },
      {
        get tenantId() {
          return tenantId ?? 'operator';
        },
        actor: { type: 'operator', principal: principalOf(event) },
      },
      async () => {
        const out = await action(event);
        // A new tenant's creation opens its trail.
        if (event.routeKey === 'POST /admin/tenants') tenantId = (out.body as { id?: string }).id;
        return out;
      },
    );
    return json(result);
  });
