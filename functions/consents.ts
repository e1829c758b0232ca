import { numberHome } from '#layers/core/use-cases/recipient-lists.ts';
import { loadSettings } from '#layers/declaration.ts';
import { PER_ROUTE, parseJsonBody, parseWith, sourceIp, tenantRoute } from '#layers/http/handler.ts';
import { CreateConsentRequest, PhoneParams } from '#layers/http/schemas.ts';
import { euOrHere, recipientLists, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './consents.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const lists = recipientLists();

/**
 * The consent ledger: record an opt-in (scope send), read a number's ledger (scope read), as the
 * route table says. An EU/EEA number at the global endpoint is the EU API's: relayed for a
 * forward tenant, 421 for a strict one.
 */
export const handler = tenantRoute(
  PER_ROUTE,
  async (event, tenant) => {
    if (event.routeKey === 'POST /v1/consents') {
      const input = parseWith(CreateConsentRequest, parseJsonBody(event), 'pointer');
      return euOrHere(event, tenant, numberHome(input.phone), async (endpoint) => ({
        status: 201,
        body: await lists.recordConsent(tenant, input, sourceIp(event), endpoint),
      }));
    }
    const { phone } = parseWith(PhoneParams, event.pathParameters ?? {}, 'parameter');
    return euOrHere(event, tenant, numberHome(phone), async (endpoint) => ({
      status: 200,
      body: await lists.consentLedger(tenant, phone, endpoint),
    }));
  },
  tenantGuards,
);
