import { loadSettings } from '#layers/declaration.ts';
import { euOrHereOperation, tenantGuards } from '#layers/http/guards.ts';
import { sourceIp } from '#layers/http/handler.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { declaration } from './consents.def.ts';
import { numberHome } from './use-cases/recipient-lists.ts';
import { recipientLists } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const lists = recipientLists();

/**
 * The consent ledger: record an opt-in (scope send), read a number's ledger (scope read), as the
 * route table says. An EU/EEA number at the global endpoint is the EU API's: relayed for a
 * forward tenant, 421 for a strict one.
 */
export const operations = {
  recordConsent: euOrHereOperation<'recordConsent'>(
    ({ body }) => numberHome(body.phone),
    async ({ body, event, tenant }, endpoint) => ({
      status: 201,
      body: await lists.recordConsent(tenant, body, sourceIp(event), endpoint),
    }),
  ),
  getConsentLedger: euOrHereOperation<'getConsentLedger'>(
    ({ params }) => numberHome(params.phone),
    async ({ params, tenant }, endpoint) => ({
      status: 200,
      body: await lists.consentLedger(tenant, params.phone, endpoint),
    }),
  ),
} satisfies Operations<'consents'>;

export const handler = operationsHandler('consents', operations, { guards: tenantGuards });
