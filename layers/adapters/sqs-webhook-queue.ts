import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { WebhookDelivery } from '#functions/webhooks/model.ts';
import type { WebhookQueue } from '#functions/webhooks/ports.ts';

/** Deliveries on the jurisdiction's webhook queue (encrypted, in the region of the data they carry). */
export class SqsWebhookQueue implements WebhookQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(deliveries: WebhookDelivery[]): Promise<void> {
    for (let i = 0; i < deliveries.length; i += 10) {
      const chunk = deliveries.slice(i, i + 10);
      const out = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((d, n) => ({ Id: String(n), MessageBody: JSON.stringify(d) })),
        }),
      );
      const failed = out.Failed ?? [];
      if (failed.length > 0) throw new Error(`${failed.length} webhook deliveries were not queued`);
    }
  }
}
