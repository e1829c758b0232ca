import type { SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { translateEumEvent } from '#layers/adapters/eum-events.ts';
import { systemClock } from '#layers/adapters/system.ts';
import { setting } from '#layers/config.ts';
import { makeApplyCarrierEvent } from '#layers/core/use-cases/dispatch-message.ts';
import { makeReceiveInbound } from '#layers/core/use-cases/inbound.ts';
import { loadSettings } from '#layers/declaration.ts';
import { processRecords } from '#layers/sqs-batch.ts';
import { countMessages, flushMetrics, logger, traced } from '#layers/telemetry.ts';
import {
  blockList,
  dispatchQueue,
  gatewayBudget,
  messageStore,
  onDemand,
  recipientPseudonyms,
  recipientStore,
  statusEvents,
  systemSms,
  tenantSettings,
  tenantStore,
  webhookFanout,
} from '#layers/wiring.ts';
import { declaration } from './apply-carrier-events.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const CarrierEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('delivery_receipt'),
    // 'system': the gateway's own messages (one-time codes), which are not stored.
    tenantId: z.string().regex(/^(ten_|system$)/),
    messageId: z.string().regex(/^(msg|sys)_/),
    jurisdiction: setting.jurisdiction,
    carrierMessageId: z.string(),
    status: z.enum(['delivered', 'failed', 'undeliverable']),
    errorCode: z.string().optional(),
    errorMessage: z.string().optional(),
    occurredAt: z.iso.datetime(),
  }),
  z.object({
    kind: z.literal('inbound'),
    from: z.string(),
    to: z.string(),
    body: z.string(),
    carrierMessageId: z.string(),
    receivedAt: z.iso.datetime(),
    // Only the sandbox carrier names the message answered (the carrier webhook's schema has no such field).
    inReplyTo: z
      .object({ tenantId: z.string().regex(/^ten_/), messageId: z.string().regex(/^msg_/) })
      .optional(),
  }),
]);

// Built on first use: the global region's worker holds no EU settings, so an EU event that
// reached its queue fails (and goes to the DLQ) instead of being handled by a global role.
const appliers = onDemand((j) =>
  makeApplyCarrierEvent({ messages: messageStore(j), events: statusEvents() }),
);

const receiveInbound = makeReceiveInbound({
  messages: onDemand(messageStore),
  queues: onDemand(dispatchQueue),
  recipients: onDemand(recipientStore),
  blockList: onDemand(blockList),
  pseudonyms: recipientPseudonyms(),
  tenants: tenantStore(),
  settings: tenantSettings,
  systemSms,
  gatewayBudget: gatewayBudget(),
  clock: systemClock,
  onStored: (notice) => webhookFanout().inbound(notice),
});

/** Carrier events: delivery receipts move messages to their final status; replies are handled as inbound. */
export const handler = traced(async (sqsEvent: SQSEvent) => {
  // A worker's lines carry no request's keys (locally all functions share one process).
  logger.resetKeys();
  const response = await processRecords(
    sqsEvent,
    async (record) => {
      const body = JSON.parse(record.body) as Record<string, unknown>;
      // The sandbox and the carrier webhook speak the gateway's format; EUM speaks its own.
      const translated = 'kind' in body ? body : translateEumEvent(body);
      if (translated === undefined) return; // queued, pending, sent: nothing to record
      const event = CarrierEvent.parse(translated);
      if (event.kind === 'inbound') {
        await receiveInbound(event);
        return;
      }
      if (event.tenantId === 'system') return;
      if ((await appliers[event.jurisdiction](event)).outcome === 'updated') {
        countMessages(event.status === 'delivered' ? 'Delivered' : 'Failed');
      }
    },
    (record, error) =>
      logger.warn('carrier event failed', { sqsMessageId: record.messageId, error: (error as Error)?.name }),
  );
  await statusEvents().flush();
  flushMetrics();
  return response;
});
