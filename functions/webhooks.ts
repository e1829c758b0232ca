import { requireReadable } from '#layers/core/use-cases/read-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { parseRequest, parseWith, tenantRoute } from '#layers/http/handler.ts';
import {
  RotateWebhookSecretRequest,
  WebhookDeliveriesQuery,
  WebhookIdParams,
  webhookRequest,
} from '#layers/http/schemas.ts';
import { endpoints as apiEndpoints, euOrHere, tenantGuards, webhookEndpoints } from '#layers/wiring.ts';
import { declaration } from './webhooks.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
const settings = loadSettings(declaration);

const endpoints = webhookEndpoints();
// The route's schema, with loopback URLs allowed where this runtime allows them (never in AWS).
const CreateWebhookRequest = webhookRequest({ allowLoopback: settings.WEBHOOK_ALLOW_LOOPBACK ?? false });

/** The account's webhook endpoints (admin-scoped keys). */
export const handler = tenantRoute(
  'admin',
  async (event, tenant) => {
    const id = () => parseWith(WebhookIdParams, event.pathParameters ?? {}, 'parameter').webhookId;
    switch (event.routeKey) {
      case 'POST /v1/webhooks':
        return {
          status: 201,
          body: await endpoints.create(
            tenant.tenantId,
            parseRequest(event, { body: CreateWebhookRequest }).body,
          ),
        };
      case 'GET /v1/webhooks':
        return { status: 200, body: await endpoints.list(tenant.tenantId) };
      case 'GET /v1/webhooks/{webhookId}':
        return { status: 200, body: await endpoints.get(tenant.tenantId, id()) };
      case 'DELETE /v1/webhooks/{webhookId}':
        await endpoints.remove(tenant.tenantId, id());
        return { status: 204 };
      case 'POST /v1/webhooks/{webhookId}/rotate-secret': {
        const { params, body } = parseRequest(event, {
          params: WebhookIdParams,
          body: RotateWebhookSecretRequest,
        });
        return {
          status: 200,
          body: await endpoints.rotateSecret(tenant.tenantId, params.webhookId, body.graceSeconds),
        };
      }
      default: {
        const { params, query } = parseRequest(event, {
          params: WebhookIdParams,
          query: WebhookDeliveriesQuery,
        });
        // The EU's deliveries at the global endpoint: relayed (forward residency) or 421 (strict).
        return euOrHere(event, tenant, query.jurisdiction, async (endpoint) => {
          const jurisdiction = query.jurisdiction ?? endpoint;
          requireReadable({ endpoints: apiEndpoints() }, tenant, endpoint, jurisdiction);
          return {
            status: 200,
            body: await endpoints.deliveries(tenant.tenantId, params.webhookId, { ...query, jurisdiction }),
          };
        });
      }
    }
  },
  tenantGuards,
);
