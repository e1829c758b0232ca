import { numberHome } from '#layers/core/use-cases/recipient-lists.ts';
import { loadSettings } from '#layers/declaration.ts';
import { PER_ROUTE, parseJsonBody, parseWith, tenantRoute } from '#layers/http/handler.ts';
import { CreateOptOutRequest, PhoneParams } from '#layers/http/schemas.ts';
import { euOrHere, recipientLists, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './opt-outs.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const lists = recipientLists();

/**
 * The opt-out list: read it (scope read), add to it or remove from it (scope send), as the route
 * table says. An EU/EEA number at the global endpoint is the EU API's: relayed for a forward
 * tenant, 421 for a strict one; the list there is the global region's.
 */
export const handler = tenantRoute(
  PER_ROUTE,
  async (event, tenant) => {
    if (event.routeKey === 'GET /v1/opt-outs') {
      return euOrHere(event, tenant, undefined, async (endpoint) => ({
        status: 200,
        body: await lists.listOptOuts(tenant, endpoint),
      }));
    }
    if (event.routeKey === 'POST /v1/opt-outs') {
      const input = parseWith(CreateOptOutRequest, parseJsonBody(event), 'pointer');
      return euOrHere(event, tenant, numberHome(input.phone), async (endpoint) => ({
        status: 201,
        body: await lists.addOptOut(tenant, input, endpoint),
      }));
    }
    const { phone } = parseWith(PhoneParams, event.pathParameters ?? {}, 'parameter');
    return euOrHere(event, tenant, numberHome(phone), async (endpoint) => ({
      status: 200,
      body: await lists.removeOptOut(tenant, phone, endpoint),
    }));
  },
  tenantGuards,
);
