import { loadSettings } from '#layers/declaration.ts';
import {
  endpointJurisdiction,
  PER_ROUTE,
  parseJsonBody,
  parseWith,
  sourceIp,
  tenantRoute,
} from '#layers/http/handler.ts';
import { CreateConsentRequest, PhoneParams } from '#layers/http/schemas.ts';
import { ownJurisdiction, recipientLists, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './consents.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const lists = recipientLists();

/** The consent ledger: record an opt-in (scope send), read a number's ledger (scope read), as the route table says. */
export const handler = tenantRoute(
  PER_ROUTE,
  async (event, tenant) => {
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    if (event.routeKey === 'POST /v1/consents') {
      const input = parseWith(CreateConsentRequest, parseJsonBody(event), 'pointer');
      return { status: 201, body: await lists.recordConsent(tenant, input, sourceIp(event), endpoint) };
    }
    const { phone } = parseWith(PhoneParams, event.pathParameters ?? {}, 'parameter');
    return { status: 200, body: await lists.consentLedger(tenant, phone, endpoint) };
  },
  tenantGuards,
);
