import { loadSettings } from '#layers/declaration.ts';
import { AUDIT_COLUMNS, exportPage } from '#layers/http/export.ts';
import { endpointJurisdiction, parseWith, tenantRoute } from '#layers/http/handler.ts';
import { AuditQuery, AuditVerificationQuery } from '#layers/http/schemas.ts';
import { auditTrail, ownJurisdiction, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './audit-events.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const trail = auditTrail();

/** The account's audit trail and its verification (admin-scoped keys). */
export const handler = tenantRoute(
  'admin',
  async (event, tenant) => {
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    const query = event.queryStringParameters ?? {};
    if (event.routeKey.endsWith('/verification')) {
      const q = parseWith(AuditVerificationQuery, query, 'parameter');
      return { status: 200, body: await trail.verify(tenant.tenantId, tenant, q, endpoint) };
    }
    const { format, ...q } = parseWith(AuditQuery, query, 'parameter');
    const page = await trail.list(tenant.tenantId, tenant, q, endpoint);
    return exportPage(format, page, AUDIT_COLUMNS);
  },
  tenantGuards,
);
