import { relayedTenantRoute } from '#layers/declaration.ts';

/** Reads messages and decrypts them: unwraps data keys, never wraps. */
export const declaration = relayedTenantRoute('list-messages', 'GET /v1/messages', {
  messages: 'read',
  tenantKeys: 'read',
});
