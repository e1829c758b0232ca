import { defineFunction, tenantRoute } from '#layers/declaration.ts';

/** The tenant's replies (HELP text, keywords, reference codes), in the tenants table. */
export const declaration = defineFunction({
  ...tenantRoute({
    name: 'settings',
    description: '/v1/settings/replies',
    settings: [],
    needs: {},
  }),
  name: 'settings',
});
