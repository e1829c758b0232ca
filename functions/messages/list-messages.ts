import { systemClock } from '#layers/adapters/system.ts';
import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction } from '#layers/http/handler.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { endpoints, euRelay, messageStore, onDemand, ownJurisdiction, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './list-messages.def.ts';
import { makeListMessages, relaysReadToEu } from './use-cases/read-messages.ts';

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
