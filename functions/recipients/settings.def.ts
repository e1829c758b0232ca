import { defineFunction, tenantRoute } from '#layers/declaration.ts';

/** The tenant's replies (HELP text, keywords, reference codes), in the tenants table. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'settings',
    // The tenant's record (its replies, and the controls its rate limit reads) through its
    // tenant-access role; the execution role keeps the rate buckets and system secrets alone.
    tenantScoped: true,
    description: '/v1/settings/replies',
    settings: [],
    needs: { tenants: 'readWrite' },
  }),
  name: 'settings',
});
