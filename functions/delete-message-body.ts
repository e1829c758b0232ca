import { systemClock } from '#layers/adapters/system.ts';
import { makeRedactBody } from '#layers/core/use-cases/read-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, parseWith, tenantRoute } from '#layers/http/handler.ts';
import { MessageIdParams } from '#layers/http/schemas.ts';
import { both, endpoints, messageStore, ownJurisdiction, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './delete-message-body.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const redactBody = makeRedactBody({
  messages: both(messageStore),
  clock: systemClock,
  endpoints: endpoints(),
});

export const handler = tenantRoute(
  'send',
  async (event, tenant) => {
    const { id } = parseWith(MessageIdParams, event.pathParameters ?? {}, 'parameter');
    return {
      status: 200,
      body: await redactBody(tenant, id, endpointJurisdiction(event, ownJurisdiction())),
    };
  },
  tenantGuards,
);
