import { loadSettings } from '#layers/declaration.ts';
import { euOrHereOperation, tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { declaration } from './opt-outs.def.ts';
import { numberHome } from './use-cases/recipient-lists.ts';
import { recipientLists } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const lists = recipientLists();

/**
 * The opt-out list: read it (scope read), add to it or remove from it (scope send), as the route
 * table says. An EU/EEA number at the global endpoint is the EU API's: relayed for a forward
 * tenant, 421 for a strict one; the list there is the global region's.
 */
export const operations = {
  listOptOuts: euOrHereOperation<'listOptOuts'>(
    () => undefined,
    async ({ tenant }, endpoint) => ({
      status: 200,
      body: await lists.listOptOuts(tenant, endpoint),
    }),
  ),
  addOptOut: euOrHereOperation<'addOptOut'>(
    ({ body }) => numberHome(body.phone),
    async ({ body, tenant }, endpoint) => ({
      status: 201,
      body: await lists.addOptOut(tenant, body, endpoint),
    }),
  ),
  removeOptOut: euOrHereOperation<'removeOptOut'>(
    ({ params }) => numberHome(params.phone),
    async ({ params, tenant }, endpoint) => ({
      status: 200,
      body: await lists.removeOptOut(tenant, params.phone, endpoint),
    }),
  ),
} satisfies Operations<'opt-outs'>;

export const handler = operationsHandler('opt-outs', operations, { guards: tenantGuards });
