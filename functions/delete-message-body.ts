import { systemClock } from '#layers/adapters/system.ts';
import { makeRedactBody } from '#layers/core/use-cases/read-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { parseWith, tenantRoute } from '#layers/http/handler.ts';
import { MessageIdParams } from '#layers/http/schemas.ts';
import { endpoints, hereOrEu, messageStore, onDemand, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './delete-message-body.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const redactBody = makeRedactBody({
  messages: onDemand(messageStore),
  clock: systemClock,
  endpoints: endpoints(),
  relaysToEu: true,
});

export const handler = tenantRoute(
  'send',
  async (event, tenant) => {
    const { id } = parseWith(MessageIdParams, event.pathParameters ?? {}, 'parameter');
    return hereOrEu(event, tenant, async (endpoint) => ({
      status: 200,
      body: await redactBody(tenant, id, endpoint),
    }));
  },
  tenantGuards,
);
