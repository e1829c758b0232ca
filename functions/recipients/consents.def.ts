import { relayedTenantRoute } from '#layers/declaration.ts';

/** The recipient lists: numbers are sealed under the tenant's key in their jurisdiction. */
export const declaration = relayedTenantRoute('consents', '/v1/consents', {
  messages: 'readWrite',
  tenantKeys: 'write',
});
