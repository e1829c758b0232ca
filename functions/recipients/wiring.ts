import { makeTenantAdmin } from '#functions/tenants/use-cases/manage-tenants.ts';
import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import {
  endpoints,
  once,
  onDemand,
  pepper,
  recipientStore,
  tenantCrypto,
  tenantStore,
} from '#layers/wiring.ts';
import { makeRecipientLists } from './use-cases/recipient-lists.ts';

/** Use cases more than one function serves, composed once per process. */
export const tenantAdmin = /* @__PURE__ */ once(() =>
  makeTenantAdmin({
    tenants: tenantStore(),
    ids: ulidIds,
    clock: systemClock,
    pepper,
    createTenantKey: (tenantId, j) => tenantCrypto(j).ensureTenantKey(tenantId),
  }),
);

export const recipientLists = /* @__PURE__ */ once(() =>
  makeRecipientLists({
    // Built on first use: at the global endpoint, the EU's lists are the EU API's (relayed).
    recipients: onDemand(recipientStore),
    clock: systemClock,
    ids: ulidIds,
    endpoints: endpoints(),
    relaysToEu: true,
  }),
);
