import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { CARRIER_TOKEN_SECRET, generateCarrierToken, hashApiKey } from '#layers/core/api-keys.ts';
import { MisdirectedError } from '#layers/core/errors.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import { loadSettings } from '#layers/declaration.ts';
import { AUDIT_COLUMNS, exportPage } from '#layers/http/export.ts';
import { recordAudit } from '#layers/http/guards.ts';
import { endpointJurisdiction } from '#layers/http/handler.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import {
  auditTrail,
  counters,
  endpoints,
  keyringStore,
  keyService,
  messageStore,
  onDemand,
  ownJurisdiction,
  pepper,
  secretStore,
  senderIds,
  tenantCrypto,
  tenantStore,
  usageLedger,
  usageReports,
} from '#layers/wiring.ts';
import { declaration } from './admin.def.ts';
import { confirmsTenant } from './schemas.ts';
import { makeCloseAccount } from './use-cases/close-account.ts';
import { makeTenantAdmin } from './use-cases/manage-tenants.ts';
import { idempotencyKeyScope, webhookHistory } from './wiring.ts';

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
  usage: onDemand(usageLedger),
  keys: onDemand(keyService),
  crypto: onDemand(tenantCrypto),
  clock: systemClock,
  keyDeletionDays: settings.KEY_DELETION_DAYS,
  backupWindowDays: settings.BACKUP_WINDOW_DAYS,
  recordsRetentionDays: settings.CLOSED_RECORDS_DAYS,
  jurisdictions: [here],
  endpoints: endpoints(),
});

/**
 * Operator routes. API Gateway authorises them with IAM before this runs (locally, the
 * runtime checks the admin token), so no tenant API key can reach them. Every operator action
 * joins the trail of the tenant it concerns (`operator` for none).
 */
export const operations = {
  createTenant: {
    handle: async ({ body }) => ({ status: 201, body: await admin.createTenant(body) }),
    // A new tenant's creation opens its trail.
    auditTenant: (out) => (out.body as { id?: string } | undefined)?.id,
  },
  listTenants: async () => ({ status: 200, body: { data: await admin.listTenants() } }),
  getTenant: async ({ params }) => ({ status: 200, body: await admin.getTenant(params.tenantId) }),
  issueApiKey: async ({ params, body }) => ({
    status: 201,
    body: await admin.issueKey(params.tenantId, body),
  }),
  listApiKeys: async ({ params }) => ({
    status: 200,
    body: { data: await admin.listKeys(params.tenantId) },
  }),
  rotateApiKey: async ({ params, body }) => ({
    status: 201,
    body: await admin.rotateKey(params.tenantId, params.keyId, body.graceSeconds),
  }),
  updateTenantPolicy: async ({ params, body }) => ({
    status: 200,
    body: await admin.updatePolicy(params.tenantId, body),
  }),
  closeTenant: {
    check: confirmsTenant,
    handle: async ({ params }) => ({ status: 200, body: await closeAccount(params.tenantId) }),
  },
  updateTenantControls: async ({ params, body }) => ({
    status: 200,
    body: await admin.updateControls(params.tenantId, body),
  }),
  listPendingSenderIds: async () => ({ status: 200, body: await senders.listPending() }),
  reviewSenderId: async ({ params: { tenantId, senderId } }) => {
    // The identity details are sealed under the tenant's home jurisdiction's key.
    requireReach(
      await senders.home(tenantId),
      "This tenant's identity details are sealed under its EU key and are reviewed at the EU endpoint",
    );
    return { status: 200, body: await senders.review(tenantId, senderId) };
  },
  decideSenderId: async ({ params, body }) => ({
    status: 200,
    body: await senders.decide(params.tenantId, params.senderId, body),
  }),
  getAnalytics: async ({ query }) => ({ status: 200, body: await usageReports().aggregates(query, here) }),
  listAuditEventsAsOperator: async ({ query: { format, tenantId, ...q }, event }) => {
    const endpoint = endpointJurisdiction(event, here);
    requireReach(q.jurisdiction ?? endpoint, 'The EU trail is kept in the EU region');
    const page = await trail.list(tenantId ?? 'operator', undefined, q, endpoint);
    return exportPage(format, page, AUDIT_COLUMNS);
  },
  issueCarrierToken: async () => {
    const token = generateCarrierToken();
    await secretStore().put(CARRIER_TOKEN_SECRET, Buffer.from(hashApiKey(await pepper(), token)));
    return { status: 201, body: { token } };
  },
  revokeApiKey: async ({ params }) => ({
    status: 200,
    body: await admin.revokeKey(params.tenantId, params.keyId),
  }),
} satisfies Operations<'admin'>;

export const handler = operationsHandler('admin', operations, { guards: { audit: recordAudit } });
