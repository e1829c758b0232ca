import * as z from 'zod';
import { CURSORS } from '#layers/core/cursors.ts';
import { ID_PATTERN } from '#layers/core/ids.ts';
import { checkedBy, cursorOf, Jurisdiction } from '#layers/http/schemas.ts';
import { webhookUrlProblem } from './model.ts';

// Webhooks

const WebhookEventType = z.enum(['message.status', 'message.inbound']);

/**
 * A new endpoint. `allowLoopback` (WEBHOOK_ALLOW_LOOPBACK: the local runtime and tests only) also
 * takes http to this machine; the document shows the schema AWS serves, without it.
 */
export const webhookRequest = (options: { allowLoopback: boolean }) =>
  z.strictObject({
    url: z
      .string()
      .max(2048)
      .superRefine(checkedBy((url) => webhookUrlProblem(url, options)))
      .meta({
        description: 'https only; must resolve to a public address.',
        example: 'https://hooks.example.com/sms',
      }),
    events: z.array(WebhookEventType).min(1).max(2),
    description: z.string().max(200).optional(),
  });

export const CreateWebhookRequest = webhookRequest({ allowLoopback: false }).meta({
  id: 'CreateWebhookRequest',
});

export const Webhook = z
  .strictObject({
    id: z.string(),
    url: z.string(),
    events: z.array(WebhookEventType),
    description: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Webhook' });

export const WebhookWithSecret = Webhook.extend({
  secret: z.string().meta({
    description: 'whsec_...: shown once. Verify deliveries with any Standard Webhooks library.',
  }),
}).meta({ id: 'WebhookWithSecret' });

export const RotatedWebhookSecret = WebhookWithSecret.extend({
  previousSecretsValidUntil: z.iso.datetime().meta({
    description: 'Until then deliveries carry a signature by the previous secret too.',
  }),
}).meta({ id: 'RotatedWebhookSecret' });

export const WebhookList = z.strictObject({ data: z.array(Webhook) }).meta({ id: 'WebhookList' });

export const WebhookIdParams = z.object({
  webhookId: z.string().regex(ID_PATTERN.webhook, 'a webhook endpoint id: whk_ and 26 letters and digits'),
});

export const RotateWebhookSecretRequest = z
  .strictObject({
    graceSeconds: z
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(86_400)
      .meta({ description: 'How long the previous secret keeps signing too (default one day).' }),
  })
  .meta({ id: 'RotateWebhookSecretRequest' });

export const WebhookDeliveriesQuery = z.strictObject({
  jurisdiction: Jurisdiction.optional().meta({
    description:
      "Deliveries are made and recorded in the jurisdiction of the data they carry; defaults to the endpoint's own.",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: cursorOf(CURSORS.webhookDeliveries).optional(),
});

export const WebhookDeliveryList = z
  .strictObject({
    data: z.array(
      z.strictObject({
        deliveryId: z.string().meta({ description: 'The webhook-id header of every attempt.' }),
        type: WebhookEventType,
        createdAt: z.iso.datetime(),
        status: z.enum(['retrying', 'delivered', 'dead']),
        attempts: z.int(),
        lastAttemptAt: z.iso.datetime(),
        lastStatusCode: z.int().optional(),
        lastError: z.string().optional(),
        nextAttemptAt: z.iso.datetime().optional(),
      }),
    ),
    nextCursor: z.string().nullable(),
    jurisdiction: Jurisdiction,
  })
  .meta({ id: 'WebhookDeliveryList' });
