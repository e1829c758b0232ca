import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { loadSettings } from '#layers/declaration.ts';
import { sourceIp } from '#layers/http/handler.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import {
  blockList,
  endpoints,
  messageStore,
  onDemand,
  ownJurisdiction,
  recipientPseudonyms,
  tenantStore,
} from '#layers/wiring.ts';
import { makePublicRights } from './use-cases/public-rights.ts';
import { declaration } from './verifications.def.ts';
import { gatewayBudget, ownRegionCounters, systemSms, verificationStore } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const rights = makePublicRights({
  // Built on first use: the global region's function holds no EU settings (it refuses EU numbers).
  verifications: onDemand(verificationStore),
  blockList: onDemand(blockList),
  messages: onDemand(messageStore),
  tenants: tenantStore(),
  pseudonyms: recipientPseudonyms(),
  counters: ownRegionCounters(),
  systemSms,
  ids: ulidIds,
  clock: systemClock,
  gatewayBudget: gatewayBudget(),
  here: ownJurisdiction(),
  endpoints: endpoints(),
});

/**
 * The public flows (no account): block every message to a number, and "who sent me this?".
 * Rate-limited per IP address and per number; the answers never depend on whether the number
 * is known or blocked until its one-time code is given.
 */
export const operations = {
  startVerification: async ({ body, event }) => ({
    status: 202,
    body: await rights.start(body, sourceIp(event)),
  }),
  confirmVerification: async ({ params, body, event }) => ({
    status: 200,
    body: await rights.confirm(params.id, body.code, sourceIp(event)),
  }),
} satisfies Operations<'verifications'>;

export const handler = operationsHandler('verifications', operations);
