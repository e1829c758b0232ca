import type { SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { systemClock } from '#layers/adapters/system.ts';
import { setting } from '#layers/config.ts';
import { DispatchBusyError } from '#layers/core/errors.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import { makePacer } from '#layers/core/pacing.ts';
import { loadSettings } from '#layers/declaration.ts';
import { processRecords } from '#layers/sqs-batch.ts';
import { countMessages, flushMetrics, logger, traced } from '#layers/telemetry.ts';
import { inTenantScope } from '#layers/tenant-scope.ts';
import { dispatchQueue, messageStore } from '#layers/wiring.ts';
import { declaration } from './dispatch-messages.def.ts';
import { makeDispatchMessage } from './use-cases/dispatch-message.ts';
import { carrier, sandboxCarrier, statusEvents } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
const settings = loadSettings(declaration);

const DispatchRecord = z.object({
  tenantId: z.string().regex(/^ten_/),
  messageId: z.string().regex(/^msg_/),
  jurisdiction: setting.jurisdiction,
  // A message the carrier took whose "sent" is still to be written (see dispatch-message.ts).
  handedOver: z
    .object({ token: z.string().min(1), carrierMessageId: z.string().min(1), at: z.iso.datetime() })
    .optional(),
});

// One pacer per instance: at most DISPATCH_MAX_CONCURRENCY instances run at once (the event
// source's MaximumConcurrency), each at its share of the rates, so no per-message shared write.
const pacer = settings.DISPATCH_SEND_RATES
  ? makePacer({
      rates: settings.DISPATCH_SEND_RATES,
      share: 1 / settings.DISPATCH_MAX_CONCURRENCY,
      clock: systemClock,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    })
  : undefined;

// Each region's worker consumes its own queue; the reference names the jurisdiction whose
// table holds the message.
const dispatchers = new Map<Jurisdiction, ReturnType<typeof makeDispatchMessage>>();
const dispatcher = (j: Jurisdiction) => {
  let d = dispatchers.get(j);
  if (!d) {
    d = makeDispatchMessage({
      messages: messageStore(j),
      carrier: carrier(j),
      testCarrier: sandboxCarrier(j),
      clock: systemClock,
      leaseMs: settings.DISPATCH_LEASE_SECONDS * 1000,
      maxReceiveCount: settings.DISPATCH_MAX_RECEIVE_COUNT,
      carrierTimeoutMs:
        settings.DISPATCH_CARRIER_TIMEOUT_SECONDS && settings.DISPATCH_CARRIER_TIMEOUT_SECONDS * 1000,
      events: statusEvents(),
      pacer,
      // A record that must wait goes back on its own queue as a fresh message.
      requeue: dispatchQueue(j),
    });
    dispatchers.set(j, d);
  }
  return d;
};

/** Dispatch worker: SQS event source with ReportBatchItemFailures; the queue redrives to its DLQ. */
export const handler = traced(async (event: SQSEvent) => {
  // A worker's lines carry no request's keys (locally all functions share one process).
  logger.resetKeys();
  const response = await processRecords(
    event,
    async (record) => {
      // A record that does not parse can never succeed: it fails until SQS moves it to the DLQ.
      const ref = DispatchRecord.parse(JSON.parse(record.body));
      // On the message's tenant's behalf: its item and key only (its tenant-access role). Its
      // credentials not had (STS failed): the record fails and comes back, like any other failure.
      const outcome = await inTenantScope(ref.tenantId, () =>
        dispatcher(ref.jurisdiction)(ref, Number(record.attributes.ApproximateReceiveCount)),
      );
      if (outcome === 'sent') countMessages('Sent');
      if (outcome === 'rejected') countMessages('Failed');
      // Throttled by the carrier, or its turn under the send rates is far off: requeued.
      if (outcome === 'deferred') countMessages('Deferred');
    },
    (record, error) => {
      if (error instanceof DispatchBusyError) return;
      logger.warn('dispatch failed; the record will be retried or dead-lettered', {
        sqsMessageId: record.messageId,
        receiveCount: record.attributes.ApproximateReceiveCount,
        error: (error as Error)?.name,
      });
    },
  );
  // Each tenant's status changes are counted (and its webhooks queued) in that tenant's scope.
  await statusEvents().flush();
  flushMetrics();
  return response;
});
