import { loadSettings } from '#layers/declaration.ts';
import {
  endpointJurisdiction,
  PER_ROUTE,
  parseJsonBody,
  parseWith,
  tenantRoute,
} from '#layers/http/handler.ts';
import { CreateOptOutRequest, PhoneParams } from '#layers/http/schemas.ts';
import { ownJurisdiction, recipientLists, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './opt-outs.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const lists = recipientLists();

/** The opt-out list: read it (scope read), add to it or remove from it (scope send), as the route table says. */
export const handler = tenantRoute(
  PER_ROUTE,
  async (event, tenant) => {
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    if (event.routeKey === 'GET /v1/opt-outs') {
      return { status: 200, body: await lists.listOptOuts(tenant, endpoint) };
    }
    if (event.routeKey === 'POST /v1/opt-outs') {
      const input = parseWith(CreateOptOutRequest, parseJsonBody(event), 'pointer');
      return { status: 201, body: await lists.addOptOut(tenant, input, endpoint) };
    }
    const { phone } = parseWith(PhoneParams, event.pathParameters ?? {}, 'parameter');
    return { status: 200, body: await lists.removeOptOut(tenant, phone, endpoint) };
  },
  tenantGuards,
);
