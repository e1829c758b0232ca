import type { APIGatewayProxyEventV2, SNSEvent } from 'aws-lambda';
import type * as z from 'zod';
import type { InboundEvent } from '#functions/recipients/use-cases/inbound.ts';
import { translateEumEvent } from '#layers/adapters/eum-events.ts';
import { relayCarrierToken } from '#layers/core/api-keys.ts';
import { isEuSubject } from '#layers/core/residency.ts';
import { loadSettings } from '#layers/declaration.ts';
import { euRelay } from '#layers/http/guards.ts';
import { countMessages, flushMetrics, logger, traced } from '#layers/telemetry.ts';
import { inTenantScope } from '#layers/tenant-scope.ts';
import { messageStore, onDemand, ownJurisdiction, pepper } from '#layers/wiring.ts';
import { declaration } from './receive-eum-events.def.ts';
import { CarrierInboundRequest } from './schemas.ts';
import { makeApplyCarrierEvent } from './use-cases/dispatch-message.ts';
import { receiveInbound, statusEvents } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

// Built on first use: the global region's function holds no EU settings, so an EU message's
// delivery event published here fails (and, after Lambda's retries, goes to the dead-letter queue).
const appliers = onDemand((j) =>
  makeApplyCarrierEvent({ messages: messageStore(j), events: statusEvents() }),
);

/** The carrier webhook's path: the EU region takes a relayed reply there, with the relay token. */
const CARRIER_WEBHOOK = '/carrier/v1/inbound';

/**
 * An EU/EEA number's reply, taken by the global region's topic: posted to the EU region's carrier
 * webhook, which handles it there. Anything but its 202 throws, and Lambda tries again.
 */
async function relayToEu(reply: z.infer<typeof CarrierInboundRequest>): Promise<void> {
  // The relay forwards HTTP requests as they came; this one is made here, with the relay token.
  const request = {
    requestContext: { http: { method: 'POST' } },
    rawPath: CARRIER_WEBHOOK,
    rawQueryString: '',
    headers: {
      authorization: `Bearer ${relayCarrierToken(await pepper())}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(reply),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  const answer = await euRelay()(request);
  if (answer.status !== 202) {
    throw new Error(`the EU region's carrier webhook answered ${answer.status} to a relayed reply`);
  }
}

async function receiveReply(event: InboundEvent): Promise<void> {
  const reply = CarrierInboundRequest.safeParse({
    from: event.from,
    to: event.to,
    body: event.body,
    carrierMessageId: event.carrierMessageId,
    receivedAt: event.receivedAt,
  });
  if (!reply.success) {
    // What the carrier webhook would refuse (422) is dropped, not retried: no one to route it to.
    logger.warn('eum reply dropped: malformed', { carrierMessageId: event.carrierMessageId.slice(0, 200) });
    return;
  }
  if (ownJurisdiction() === 'global' && isEuSubject(reply.data.from)) return relayToEu(reply.data);
  await receiveInbound()({ kind: 'inbound', ...reply.data });
}

/**
 * What End User Messaging published, as SNS delivers it (one record an invocation): a reply is
 * handled (or relayed) at once, a delivery event moves its message to its final status. Neither
 * is queued with a number or words: the webhook queue carries a reply sealed, the status events
 * ids. A failure throws: Lambda tries twice more, then the event goes to the dead-letter queue.
 */
export const handler = traced(async (event: SNSEvent) => {
  // An invocation's lines carry no request's keys (locally all functions share one process).
  logger.resetKeys();
  for (const record of event.Records) {
    let published: Record<string, unknown>;
    try {
      published = JSON.parse(record.Sns.Message) as Record<string, unknown>;
    } catch {
      logger.warn('eum event dropped: not JSON', { snsMessageId: record.Sns.MessageId });
      continue;
    }
    const translated = translateEumEvent(published, record.Sns.Timestamp);
    if (translated === undefined) continue; // queued, pending, sent: nothing to record
    if (translated.kind === 'inbound') {
      await receiveReply(translated);
      continue;
    }
    if (translated.tenantId === 'system') continue; // the gateway's own messages are not stored
    // A delivery event names its message (End User Messaging echoes the ids the dispatch worker
    // gave it): applied on that tenant's behalf, its item only.
    const applied = await inTenantScope(translated.tenantId, () =>
      appliers[translated.jurisdiction](translated),
    );
    if (applied.outcome === 'updated') {
      countMessages(translated.status === 'delivered' ? 'Delivered' : 'Failed');
    }
  }
  await statusEvents().flush();
  flushMetrics();
});
