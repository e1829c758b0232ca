import { loadSettings } from '#layers/declaration.ts';
import { tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { declaration } from './settings.def.ts';
import { tenantAdmin } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const tenants = tenantAdmin();

/** The tenant's replies: HELP text, keywords in other languages, reference codes. */
export const operations = {
  getReplies: async ({ tenant }) => ({ status: 200, body: await tenants.replies(tenant.tenantId) }),
  updateReplies: async ({ body, tenant }) => ({
    status: 200,
    body: await tenants.updateReplies(tenant.tenantId, body),
  }),
} satisfies Operations<'settings'>;

export const handler = operationsHandler('settings', operations, { guards: tenantGuards });
