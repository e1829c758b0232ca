import type { SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { setting } from '#layers/config.ts';
import { makeApplyCarrierEvent } from '#layers/core/use-cases/dispatch-message.ts';
import { processRecords } from '#layers/sqs-batch.ts';
import { both, messageStore } from '#layers/wiring.ts';

const CarrierEvent = z.object({
  kind: z.literal('delivery_receipt'),
  tenantId: z.string().regex(/^ten_/),
  messageId: z.string().regex(/^msg_/),
  jurisdiction: setting.jurisdiction,
  carrierMessageId: z.string(),
  status: z.enum(['delivered', 'failed', 'undeliverable']),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  occurredAt: z.iso.datetime(),
});

const appliers = both((j) => makeApplyCarrierEvent({ messages: messageStore(j) }));

/** Carrier events (delivery receipts) move messages to their final status. */
export const handler = (event: SQSEvent) =>
  processRecords(
    event,
    async (record) => {
      const event = CarrierEvent.parse(JSON.parse(record.body));
      await appliers[event.jurisdiction](event);
    },
    (record, error) =>
      console.warn(
        JSON.stringify({
          level: 'WARN',
          message: 'carrier event failed',
          sqsMessageId: record.messageId,
          error: (error as Error)?.name,
        }),
      ),
  );
