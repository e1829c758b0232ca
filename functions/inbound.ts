import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, parseWith, tenantRoute } from '#layers/http/handler.ts';
import { InboundQuery } from '#layers/http/schemas.ts';
import { ownJurisdiction, recipientLists, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './inbound.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const lists = recipientLists();

/** Replies from recipients, with the keyword each one was read as. */
export const handler = tenantRoute(
  'read',
  async (event, tenant) => {
    const query = parseWith(InboundQuery, event.queryStringParameters ?? {}, 'parameter');
    return {
      status: 200,
      body: await lists.listInbound(tenant, query, endpointJurisdiction(event, ownJurisdiction())),
    };
  },
  tenantGuards,
);
