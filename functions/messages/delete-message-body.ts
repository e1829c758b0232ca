import { systemClock } from '#layers/adapters/system.ts';
import { loadSettings } from '#layers/declaration.ts';
import { tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { endpoints, messageStore, onDemand } from '#layers/wiring.ts';
import { declaration } from './delete-message-body.def.ts';
import { makeRedactBody } from './use-cases/read-messages.ts';
import { hereOrEu } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const redactBody = makeRedactBody({
  messages: onDemand(messageStore),
  clock: systemClock,
  endpoints: endpoints(),
  relaysToEu: true,
});

export const operations = {
  deleteMessageBody: async ({ params, event, tenant }) =>
    hereOrEu(event, tenant, async (endpoint) => ({
      status: 200,
      body: await redactBody(tenant, params.id, endpoint),
    })),
} satisfies Operations<'delete-message-body'>;

export const handler = operationsHandler('delete-message-body', operations, { guards: tenantGuards });
