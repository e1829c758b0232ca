import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { makeRecipientLists } from '#layers/core/use-cases/recipient-lists.ts';
import {
  endpointJurisdiction,
  parseJsonBody,
  parseWith,
  sourceIp,
  tenantFrom,
  tenantRoute,
} from '#layers/http/handler.ts';
import { CreateConsentRequest, PhoneParams } from '#layers/http/schemas.ts';
import { admitTenant, both, endpoints, ownJurisdiction, recipientStore } from '#layers/wiring.ts';

const lists = makeRecipientLists({
  recipients: both(recipientStore),
  clock: systemClock,
  ids: ulidIds,
  endpoints: endpoints(),
});

/** The consent ledger: record an opt-in (scope send), read a number's ledger (scope read). */
export const handler = tenantRoute(
  'read',
  async (event, tenant) => {
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    if (event.routeKey === 'POST /v1/consents') {
      tenantFrom(event, 'send');
      const input = parseWith(CreateConsentRequest, parseJsonBody(event), 'pointer');
      return { status: 201, body: await lists.recordConsent(tenant, input, sourceIp(event), endpoint) };
    }
    const { phone } = parseWith(PhoneParams, event.pathParameters ?? {}, 'parameter');
    return { status: 200, body: await lists.consentLedger(tenant, phone, endpoint) };
  },
  admitTenant,
);
