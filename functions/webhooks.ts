import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, parseJsonBody, parseWith, tenantRoute } from '#layers/http/handler.ts';
import {
  CreateWebhookRequest,
  RotateWebhookSecretRequest,
  WebhookDeliveriesQuery,
  WebhookIdParams,
} from '#layers/http/schemas.ts';
import { ownJurisdiction, tenantGuards, webhookEndpoints } from '#layers/wiring.ts';
import { declaration } from './webhooks.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const endpoints = webhookEndpoints();

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
            parseWith(CreateWebhookRequest, parseJsonBody(event), 'pointer'),
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
        const { graceSeconds } = parseWith(RotateWebhookSecretRequest, parseJsonBody(event), 'pointer');
        return { status: 200, body: await endpoints.rotateSecret(tenant.tenantId, id(), graceSeconds) };
      }
      default: {
        const q = parseWith(WebhookDeliveriesQuery, event.queryStringParameters ?? {}, 'parameter');
        const jurisdiction = q.jurisdiction ?? endpointJurisdiction(event, ownJurisdiction());
        return {
          status: 200,
          body: await endpoints.deliveries(tenant.tenantId, id(), { ...q, jurisdiction }),
        };
      }
    }
  },
  tenantGuards,
);
