import { loadSettings } from '#layers/declaration.ts';
import { AUDIT_COLUMNS, exportPage } from '#layers/http/export.ts';
import { euOrHereOperation, tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { auditTrail } from '#layers/wiring.ts';
import { declaration } from './audit-events.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const trail = auditTrail();

/**
 * The account's audit trail and its verification (admin-scoped keys). The EU trail
 * (`?jurisdiction=eu`) at the global endpoint: relayed for a forward tenant, 421 for a strict one.
 */
export const operations = {
  verifyAuditTrail: euOrHereOperation<'verifyAuditTrail'>(
    ({ query }) => query.jurisdiction,
    async ({ query, tenant }, endpoint) => ({
      status: 200,
      body: await trail.verify(tenant.tenantId, tenant, query, endpoint),
    }),
  ),
  listAuditEvents: euOrHereOperation<'listAuditEvents'>(
    ({ query }) => query.jurisdiction,
    async ({ query: { format, ...q }, tenant }, endpoint) =>
      exportPage(format, await trail.list(tenant.tenantId, tenant, q, endpoint), AUDIT_COLUMNS),
  ),
} satisfies Operations<'audit-events'>;

export const handler = operationsHandler('audit-events', operations, { guards: tenantGuards });
