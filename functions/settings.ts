import { loadSettings } from '#layers/declaration.ts';
import { parseJsonBody, parseWith, tenantFrom, tenantRoute } from '#layers/http/handler.ts';
import { UpdateRepliesRequest } from '#layers/http/schemas.ts';
import { tenantAdmin, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './settings.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const tenants = tenantAdmin();

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
  tenantGuards,
);
