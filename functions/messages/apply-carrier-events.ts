import type { SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import type { InboundEvent } from '#functions/recipients/use-cases/inbound.ts';
import { translateEumEvent } from '#layers/adapters/eum-events.ts';
import { systemClock } from '#layers/adapters/system.ts';
import { setting } from '#layers/config.ts';
import { isUnreadable } from '#layers/core/model.ts';
import { sandboxReply } from '#layers/core/sandbox.ts';
import { loadSettings } from '#layers/declaration.ts';
import { processRecords } from '#layers/sqs-batch.ts';
import { countMessages, flushMetrics, logger, traced } from '#layers/telemetry.ts';
import { inTenantScope } from '#layers/tenant-scope.ts';
import { messageStore, onDemand, ownJurisdiction } from '#layers/wiring.ts';
import { declaration } from './apply-carrier-events.def.ts';
import { makeApplyCarrierEvent } from './use-cases/dispatch-message.ts';
import { receiveInbound, statusEvents } from './wiring.ts';

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
  // The sandbox handset's reply: ids only; its words are read from the message it answers.
  z.object({
    kind: z.literal('sandbox_reply'),
    tenantId: z.string().regex(/^ten_/),
    messageId: z.string().regex(/^msg_/),
    carrierMessageId: z.string(),
    receivedAt: z.iso.datetime(),
  }),
  // A reply as a carrier wrote it: only what End User Messaging's topic delivered to this queue
  // before receive-eum-events took its place (kept for events queued before that upgrade).
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

/**
 * The reply the sandbox handset sent to a message, from the message as stored (sealed) in this
 * region: it answers only messages its carrier took here. None once the message or its body is
 * gone (a tenant that keeps no bodies may have dropped it at the final status).
 */
async function sandboxReplyOf(event: {
  tenantId: string;
  messageId: string;
  carrierMessageId: string;
  receivedAt: string;
}): Promise<InboundEvent | undefined> {
  const m = await messageStore(ownJurisdiction()).get(event.tenantId, event.messageId, systemClock.now());
  if (!m || isUnreadable(m) || m.body === undefined) return undefined;
  const body = sandboxReply(m.to, m.body);
  if (body === undefined) return undefined;
  return {
    kind: 'inbound',
    from: m.to,
    to: m.from,
    body,
    carrierMessageId: event.carrierMessageId,
    receivedAt: event.receivedAt,
    inReplyTo: { tenantId: event.tenantId, messageId: event.messageId },
  };
}

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
      // A reply is routed (gateway-wide look-ups) and then handled on the routed tenant's behalf.
      if (event.kind === 'inbound') {
        await receiveInbound()(event);
        return;
      }
      if (event.kind === 'sandbox_reply') {
        const reply = await inTenantScope(event.tenantId, () => sandboxReplyOf(event));
        if (reply) await receiveInbound()(reply);
        return;
      }
      if (event.tenantId === 'system') return;
      // A receipt names its message (the carrier echoes the tenant and message ids the dispatch
      // worker gave it): applied on that tenant's behalf, its item only.
      const applied = await inTenantScope(event.tenantId, () => appliers[event.jurisdiction](event));
      if (applied.outcome === 'updated') {
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
