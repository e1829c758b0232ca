import { loadSettings } from '#layers/declaration.ts';
import { AUDIT_COLUMNS, exportPage } from '#layers/http/export.ts';
import { parseWith, tenantRoute } from '#layers/http/handler.ts';
import { AuditQuery, AuditVerificationQuery } from '#layers/http/schemas.ts';
import { auditTrail, euOrHere, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './audit-events.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const trail = auditTrail();

/**
 * The account's audit trail and its verification (admin-scoped keys). The EU trail
 * (`?jurisdiction=eu`) at the global endpoint: relayed for a forward tenant, 421 for a strict one.
 */
export const handler = tenantRoute(
  'admin',
  async (event, tenant) => {
    const query = event.queryStringParameters ?? {};
    if (event.routeKey.endsWith('/verification')) {
      const q = parseWith(AuditVerificationQuery, query, 'parameter');
      return euOrHere(event, tenant, q.jurisdiction, async (endpoint) => ({
        status: 200,
        body: await trail.verify(tenant.tenantId, tenant, q, endpoint),
      }));
    }
    const { format, ...q } = parseWith(AuditQuery, query, 'parameter');
    return euOrHere(event, tenant, q.jurisdiction, async (endpoint) =>
      exportPage(format, await trail.list(tenant.tenantId, tenant, q, endpoint), AUDIT_COLUMNS),
    );
  },
  tenantGuards,
);
