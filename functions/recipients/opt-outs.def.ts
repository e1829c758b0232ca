import { relayedTenantRoute } from '#layers/declaration.ts';

/** The recipient lists: numbers are sealed under the tenant's key in their jurisdiction. */
export const declaration = relayedTenantRoute('opt-outs', '/v1/opt-outs', {
  messages: 'readWrite',
  tenantKeys: 'write',
});
