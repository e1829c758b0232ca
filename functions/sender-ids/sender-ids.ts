import { loadSettings } from '#layers/declaration.ts';
import { euOrHere, tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { senderIds } from '#layers/wiring.ts';
import { declaration } from './sender-ids.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const senders = senderIds();

/**
 * Sender IDs: list them or read one (scope read), apply for one (scope admin). An application's identity
 * details are sealed in the tenant's home jurisdiction: an EU tenant's, at the global endpoint,
 * is relayed to the EU API (forward residency) or answered 421 (strict).
 */
export const operations = {
  applyForSenderId: async ({ body, event, tenant }) =>
    euOrHere(event, tenant, await senders.home(tenant.tenantId), async (endpoint) => ({
      status: 201,
      body: await senders.apply(tenant, body, endpoint),
    })),
  listSenderIds: async ({ tenant }) => ({ status: 200, body: await senders.list(tenant) }),
  getSenderId: async ({ params, tenant }) => ({
    status: 200,
    body: await senders.get(tenant, params.senderId),
  }),
} satisfies Operations<'sender-ids'>;

export const handler = operationsHandler('sender-ids', operations, { guards: tenantGuards });
