import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { envPrefix } from '#layers/config.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import { loadSettings } from '#layers/declaration.ts';
import { countWebhook, flushMetrics, logger, traced } from '#layers/telemetry.ts';
import { inTenantScope } from '#layers/tenant-scope.ts';
import { ownJurisdiction, readSetting } from '#layers/wiring.ts';
import { declaration } from './deliver-webhooks.def.ts';
import type { WebhookDelivery } from './model.ts';
import { deliverWebhook, webhookRetries } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

/**
 * The jurisdiction whose webhook queue a record came from: this region's (the only one its
 * declaration names). The local runtime, one process for both regions, also finds the other's.
 */
function queueOf(record: SQSRecord): { jurisdiction: Jurisdiction; url: string; dlqUrl: string } {
  const arn = record.eventSourceARN;
  const name = arn.slice(arn.lastIndexOf(':') + 1);
  const own = ownJurisdiction();
  for (const j of [own, own === 'eu' ? 'global' : 'eu'] as const) {
    const url = readSetting(`${envPrefix(j)}_WEBHOOK_QUEUE_URL`);
    if (url.endsWith(`/${name}`)) {
      return { jurisdiction: j, url, dlqUrl: readSetting(`${envPrefix(j)}_WEBHOOK_DLQ_URL`) };
    }
  }
  throw new Error(`No webhook queue configured for ${name}`);
}

/**
 * Webhook deliveries. A failed attempt is retried as a new copy of the delivery that carries
 * its attempt number and the time it may go (SQS delays a message by 15 minutes at most; a copy
 * that arrives early waits out the rest as its visibility timeout). After the last attempt, or
 * at once for a blocked address, the delivery goes to the webhook DLQ with its reason (never
 * with its data) and leaves the queue.
 */
export const handler = traced(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  logger.resetKeys();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      try {
        const queue = queueOf(record);
        const retries = webhookRetries(queue.jurisdiction, queue.url, queue.dlqUrl);
        const delivery = JSON.parse(record.body) as WebhookDelivery;
        const waitMs = delivery.notBefore ? Date.parse(delivery.notBefore) - Date.now() : 0;
        if (waitMs > 1_000) {
          await retries.hold(record.receiptHandle, waitMs / 1000);
          batchItemFailures.push({ itemIdentifier: record.messageId });
          return;
        }
        const attempt = delivery.attempt ?? 1;
        // The delivery's tenant's credentials only (its history, reply and keys): a record that
        // named another tenant's items would be refused by IAM, not by this code.
        const out = await inTenantScope(delivery.tenantId, () =>
          deliverWebhook(queue.jurisdiction)(delivery, attempt),
        );
        countWebhook(out.outcome);
        if (out.outcome === 'retry') {
          const notBefore = new Date(Date.now() + out.delaySeconds * 1000).toISOString();
          await retries.retry({ ...delivery, attempt: attempt + 1, notBefore }, out.delaySeconds);
        } else if (out.outcome === 'dead') {
          const { data: _data, sealed: _sealed, notBefore: _n, ...reference } = delivery;
          await retries.deadLetter({ ...reference, attempts: attempt, reason: out.reason });
        }
      } catch (error) {
        // The gateway's own failure (not the receiver's): retried after the visibility timeout.
        logger.warn('webhook delivery failed', {
          sqsMessageId: record.messageId,
          error: (error as Error)?.name,
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  flushMetrics();
  return { batchItemFailures };
});
