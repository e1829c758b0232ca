import { requireReadable } from '#functions/messages/use-cases/read-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { euOrHereOperation, tenantGuards } from '#layers/http/guards.ts';
import { parseRequest } from '#layers/http/handler.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { endpoints as apiEndpoints } from '#layers/wiring.ts';
import { webhookRequest } from './schemas.ts';
import { declaration } from './webhooks.def.ts';
import { webhookEndpoints } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
const settings = loadSettings(declaration);

const endpoints = webhookEndpoints();
// The route's schema, with loopback URLs allowed where this runtime allows them (never in AWS).
const CreateWebhookRequest = webhookRequest({ allowLoopback: settings.WEBHOOK_ALLOW_LOOPBACK ?? false });

/** The account's webhook endpoints (admin-scoped keys). */
export const operations = {
  createWebhook: {
    readBody: (event) => parseRequest(event, { body: CreateWebhookRequest }).body,
    handle: async ({ body, tenant }) => ({
      status: 201,
      body: await endpoints.create(tenant.tenantId, body),
    }),
  },
  listWebhooks: async ({ tenant }) => ({ status: 200, body: await endpoints.list(tenant.tenantId) }),
  getWebhook: async ({ params, tenant }) => ({
    status: 200,
    body: await endpoints.get(tenant.tenantId, params.webhookId),
  }),
  deleteWebhook: async ({ params, tenant }) => {
    await endpoints.remove(tenant.tenantId, params.webhookId);
    return { status: 204 };
  },
  rotateWebhookSecret: async ({ params, body, tenant }) => ({
    status: 200,
    body: await endpoints.rotateSecret(tenant.tenantId, params.webhookId, body.graceSeconds),
  }),
  // The EU's deliveries at the global endpoint: relayed (forward residency) or 421 (strict).
  listWebhookDeliveries: euOrHereOperation<'listWebhookDeliveries'>(
    ({ query }) => query.jurisdiction,
    async ({ params, query, tenant }, endpoint) => {
      const jurisdiction = query.jurisdiction ?? endpoint;
      requireReadable({ endpoints: apiEndpoints() }, tenant, endpoint, jurisdiction);
      return {
        status: 200,
        body: await endpoints.deliveries(tenant.tenantId, params.webhookId, { ...query, jurisdiction }),
      };
    },
  ),
} satisfies Operations<'webhooks'>;

export const handler = operationsHandler('webhooks', operations, { guards: tenantGuards });
