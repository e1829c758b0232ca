import { defineFunction, ownAndGlobalFromEu, tenantRoute } from '#layers/declaration.ts';

/** A data subject's export (decrypted) and erasure, in both jurisdictions. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'subjects',
    relaysToEu: true,
    tenantScoped: true,
    description: '/v1/subjects/{phone}',
    settings: [
      'BACKUP_WINDOW_DAYS',
      'AUDIT_RETENTION_DAYS',
      'ERASURE_RECORD_DAYS',
      'GLOBAL_API_URL',
      'EU_API_URL',
    ],
    // An erasure's record, under the tenant in the tenants table.
    needs: { ...ownAndGlobalFromEu({ messages: 'readWrite', tenantKeys: 'write' }), tenants: 'readWrite' },
  }),
  name: 'subjects',
});
