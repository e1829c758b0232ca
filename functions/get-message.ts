import { systemClock } from '#layers/adapters/system.ts';
import { NotFoundError } from '#layers/core/errors.ts';
import { makeGetMessage, relaysReadToEu } from '#layers/core/use-cases/read-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, parseWith, tenantRoute } from '#layers/http/handler.ts';
import { MessageIdParams } from '#layers/http/schemas.ts';
import { endpoints, euRelay, messageStore, onDemand, ownJurisdiction, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './get-message.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const getMessage = makeGetMessage({
  messages: onDemand(messageStore),
  clock: systemClock,
  endpoints: endpoints(),
  relaysToEu: true,
});

export const handler = tenantRoute(
  'read',
  async (event, tenant) => {
    const { id } = parseWith(MessageIdParams, event.pathParameters ?? {}, 'parameter');
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    try {
      return { status: 200, body: await getMessage(tenant, id, endpoint) };
    } catch (error) {
      // Not here: a forward tenant's id may be the EU's, which the EU API answers.
      if (
        error instanceof NotFoundError &&
        error.notSearched &&
        relaysReadToEu(tenant, endpoint, error.notSearched)
      ) {
        return euRelay()(event);
      }
      throw error;
    }
  },
  tenantGuards,
);
