import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { makeTenantAdmin } from '#layers/core/use-cases/manage-tenants.ts';
import { parseJsonBody, parseWith, tenantFrom, tenantRoute } from '#layers/http/handler.ts';
import { UpdateRepliesRequest } from '#layers/http/schemas.ts';
import { admitTenant, pepper, tenantCrypto, tenantStore } from '#layers/wiring.ts';

const tenants = makeTenantAdmin({
  tenants: tenantStore(),
  ids: ulidIds,
  clock: systemClock,
  pepper,
  createTenantKey: (tenantId, j) => tenantCrypto(j).ensureTenantKey(tenantId),
});

/** The tenant's replies: HELP text, keywords in other languages, reference codes. */
export const handler = tenantRoute(
  'read',
  async (event, tenant) => {
    if (event.routeKey.startsWith('PUT ')) {
      tenantFrom(event, 'admin');
      const input = parseWith(UpdateRepliesRequest, parseJsonBody(event), 'pointer');
      return { status: 200, body: await tenants.updateReplies(tenant.tenantId, input) };
    }
    return { status: 200, body: await tenants.replies(tenant.tenantId) };
  },
  admitTenant,
);
