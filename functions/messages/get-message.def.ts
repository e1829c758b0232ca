import { relayedTenantRoute } from '#layers/declaration.ts';

/** Reads messages and decrypts them: unwraps data keys, never wraps. */
export const declaration = relayedTenantRoute('get-message', 'GET /v1/messages', {
  messages: 'read',
  tenantKeys: 'read',
});
