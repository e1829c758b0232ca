import { systemClock } from '#layers/adapters/system.ts';
import type { Jurisdiction, TenantContext } from '#layers/core/model.ts';
import { relaysReadToEu } from '#layers/core/residency.ts';
import { loadSettings } from '#layers/declaration.ts';
import { euRelay, tenantGuards } from '#layers/http/guards.ts';
import { endpointJurisdiction, type TenantEvent } from '#layers/http/handler.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { endpoints, messageStore, onDemand, ownJurisdiction } from '#layers/wiring.ts';
import { declaration } from './list-messages.def.ts';
import { makeListMessages } from './use-cases/read-messages.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const listMessages = makeListMessages({
  messages: onDemand(messageStore),
  clock: systemClock,
  endpoints: endpoints(),
});

/** Forward residency: the EU's list at the global endpoint is the EU API's, relayed as it came. */
const relayed = (jurisdiction: Jurisdiction | undefined, event: TenantEvent, tenant: TenantContext) => {
  const endpoint = endpointJurisdiction(event, ownJurisdiction());
  return relaysReadToEu(tenant, endpoint, jurisdiction ?? endpoint);
};

export const operations = {
  listMessages: {
    // A relayed list is admitted by the EU API alone (it answers 429 itself): counted once.
    relays: ({ query }, event, tenant) => relayed(query.jurisdiction, event, tenant),
    handle: async ({ query, event, tenant }) => {
      if (relayed(query.jurisdiction, event, tenant)) return euRelay()(event);
      const endpoint = endpointJurisdiction(event, ownJurisdiction());
      return { status: 200, body: await listMessages(tenant, query, endpoint) };
    },
  },
} satisfies Operations<'list-messages'>;

export const handler = operationsHandler('list-messages', operations, { guards: tenantGuards });
