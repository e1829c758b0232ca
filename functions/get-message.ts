import { systemClock } from '#layers/adapters/system.ts';
import { makeGetMessage } from '#layers/core/use-cases/read-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, parseWith, tenantRoute } from '#layers/http/handler.ts';
import { MessageIdParams } from '#layers/http/schemas.ts';
import { both, endpoints, messageStore, ownJurisdiction, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './get-message.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const getMessage = makeGetMessage({
  messages: both(messageStore),
  clock: systemClock,
  endpoints: endpoints(),
});

export const handler = tenantRoute(
  'read',
  async (event, tenant) => {
    const { id } = parseWith(MessageIdParams, event.pathParameters ?? {}, 'parameter');
    return {
      status: 200,
      body: await getMessage(tenant, id, endpointJurisdiction(event, ownJurisdiction())),
    };
  },
  tenantGuards,
);
