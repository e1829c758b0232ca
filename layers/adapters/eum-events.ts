import type { CarrierEvent } from '#functions/messages/use-cases/dispatch-message.ts';
import type { InboundEvent } from '#functions/recipients/use-cases/inbound.ts';

// Kept apart from eum-carrier.ts so that the events handler does not load the EUM client.

/** EUM event types that end a message, and the status and code each one means. */
const FINAL: Record<string, { status: CarrierEvent['status']; code?: string }> = {
  TEXT_DELIVERED: { status: 'delivered' },
  // Depending on the destination country, EUM reports delivery as TEXT_SUCCESSFUL (the recipient's
  // carrier accepted the message) instead of TEXT_DELIVERED; the two are interchangeable there.
  TEXT_SUCCESSFUL: { status: 'delivered' },
  TEXT_BLOCKED: { status: 'failed', code: 'blocked' },
  TEXT_CARRIER_BLOCKED: { status: 'failed', code: 'carrier_blocked' },
  TEXT_CARRIER_UNREACHABLE: { status: 'failed', code: 'carrier_unreachable' },
  TEXT_INVALID: { status: 'undeliverable', code: 'invalid_destination' },
  TEXT_INVALID_MESSAGE: { status: 'failed', code: 'invalid_message' },
  TEXT_PROTECT_BLOCKED: { status: 'failed', code: 'protect_blocked' },
  TEXT_SPAM: { status: 'failed', code: 'spam' },
  TEXT_TTL_EXPIRED: { status: 'failed', code: 'ttl_expired' },
  TEXT_UNREACHABLE: { status: 'undeliverable', code: 'unreachable' },
  TEXT_UNKNOWN: { status: 'failed', code: 'unknown' },
};

/** The event types a configuration set must publish for the gateway to learn every final status. */
export const EUM_FINAL_EVENT_TYPES = Object.keys(FINAL);

type Json = Record<string, unknown>;

/** An SNS notification delivered to SQS without raw message delivery wraps the event in `Message`. */
function unwrap(raw: Json): Json {
  if (raw.Type === 'Notification' && typeof raw.Message === 'string') return JSON.parse(raw.Message) as Json;
  return raw;
}

/**
 * Turns what EUM publishes (an SMS event from the configuration set's event destination, or a
 * two-way SMS reply published to the number's SNS topic) into the gateway's carrier events.
 * Events that end nothing (queued, pending, sent) and anything unrecognised give undefined. A
 * reply carries no time of its own: `receivedAt` is when SNS took it (the notification's
 * `Timestamp`), else now.
 */
export function translateEumEvent(body: Json, receivedAt?: string): CarrierEvent | InboundEvent | undefined {
  const raw = unwrap(body);
  if (typeof raw.inboundMessageId === 'string') {
    return {
      kind: 'inbound',
      from: String(raw.originationNumber),
      to: String(raw.destinationNumber),
      body: String(raw.messageBody ?? ''),
      carrierMessageId: raw.inboundMessageId,
      receivedAt:
        receivedAt ?? (typeof body.Timestamp === 'string' ? body.Timestamp : new Date().toISOString()),
    };
  }
  const final = typeof raw.eventType === 'string' ? FINAL[raw.eventType] : undefined;
  const context = raw.context as Json | undefined;
  if (!final || !context || typeof context.gatewayMessageId !== 'string') return undefined;
  return {
    kind: 'delivery_receipt',
    tenantId: String(context.tenantId),
    messageId: context.gatewayMessageId,
    jurisdiction: context.jurisdiction === 'eu' ? 'eu' : 'global',
    carrierMessageId: String(raw.messageId),
    status: final.status,
    errorCode: final.code,
    errorMessage:
      final.status === 'delivered' ? undefined : String(raw.messageStatusDescription ?? raw.eventType),
    occurredAt: new Date(Number(raw.eventTimestamp) || Date.now()).toISOString(),
  };
}
