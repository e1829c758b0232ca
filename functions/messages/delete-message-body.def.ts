import { relayedTenantRoute } from '#layers/declaration.ts';

/** Removes a message's body now: it unwraps data keys to find the message, never wraps. */
export const declaration = relayedTenantRoute('delete-message-body', 'DELETE /v1/messages/{id}/body', {
  messages: 'readWrite',
  tenantKeys: 'read',
});
