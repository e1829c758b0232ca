import { loadSettings } from '#layers/declaration.ts';
import { parseJsonBody, parseWith, tenantFrom, tenantRoute } from '#layers/http/handler.ts';
import { SenderIdApplication } from '#layers/http/schemas.ts';
import { euOrHere, senderIds, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './sender-ids.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const senders = senderIds();

/**
 * Sender IDs: list them (scope read), apply for one (scope admin). An application's identity
 * details are sealed in the tenant's home jurisdiction: an EU tenant's, at the global endpoint,
 * is relayed to the EU API (forward residency) or answered 421 (strict).
 */
export const handler = tenantRoute(
  'read',
  async (event, tenant) => {
    if (event.routeKey === 'POST /v1/sender-ids') {
      tenantFrom(event, 'admin');
      const input = parseWith(SenderIdApplication, parseJsonBody(event), 'pointer');
      return euOrHere(event, tenant, await senders.home(tenant.tenantId), async (endpoint) => ({
        status: 201,
        body: await senders.apply(tenant, input, endpoint),
      }));
    }
    return { status: 200, body: await senders.list(tenant) };
  },
  tenantGuards,
);
