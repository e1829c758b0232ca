import { systemClock } from '#layers/adapters/system.ts';
import { loadSettings } from '#layers/declaration.ts';
import { tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { endpoints, messageStore, onDemand } from '#layers/wiring.ts';
import { declaration } from './get-message.def.ts';
import { makeGetMessage } from './use-cases/read-messages.ts';
import { hereOrEu } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const getMessage = makeGetMessage({
  messages: onDemand(messageStore),
  clock: systemClock,
  endpoints: endpoints(),
  relaysToEu: true,
});

export const operations = {
  getMessage: async ({ params, event, tenant }) =>
    hereOrEu(event, tenant, async (endpoint) => ({
      status: 200,
      body: await getMessage(tenant, params.id, endpoint),
    })),
} satisfies Operations<'get-message'>;

export const handler = operationsHandler('get-message', operations, { guards: tenantGuards });
