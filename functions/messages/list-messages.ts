import { systemClock } from '#layers/adapters/system.ts';
import { relaysReadToEu } from '#layers/core/residency.ts';
import { loadSettings } from '#layers/declaration.ts';
import { euRelay, tenantGuards } from '#layers/http/guards.ts';
import { endpointJurisdiction } from '#layers/http/handler.ts';
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

export const operations = {
  listMessages: async ({ query, event, tenant }) => {
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    if (relaysReadToEu(tenant, endpoint, query.jurisdiction ?? endpoint)) return euRelay()(event);
    return { status: 200, body: await listMessages(tenant, query, endpoint) };
  },
} satisfies Operations<'list-messages'>;

export const handler = operationsHandler('list-messages', operations, { guards: tenantGuards });
