import { loadSettings } from '#layers/declaration.ts';
import { euOrHereOperation, tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { declaration } from './inbound.def.ts';
import { recipientLists } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const lists = recipientLists();

/**
 * Replies from recipients, with the keyword each one was read as. The EU's replies
 * (`?jurisdiction=eu`) at the global endpoint: relayed for a forward tenant, 421 for a strict one.
 */
export const operations = {
  listInbound: euOrHereOperation<'listInbound'>(
    ({ query }) => query.jurisdiction,
    async ({ query, tenant }, endpoint) => ({
      status: 200,
      body: await lists.listInbound(tenant, query, endpoint),
    }),
  ),
} satisfies Operations<'inbound'>;

export const handler = operationsHandler('inbound', operations, { guards: tenantGuards });
