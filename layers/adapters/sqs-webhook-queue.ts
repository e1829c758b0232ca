import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
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

/** SQS delays a message by 15 minutes at most, and keeps one invisible for 12 hours at most. */
const MAX_DELAY_SECONDS = 900;
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * What the webhook worker does with a delivery it does not finish now, on the queue the delivery
 * came from: hold it until its time, queue its next attempt, or move it to the DLQ.
 */
export class SqsWebhookRetries {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly dlqUrl: string,
  ) {}

  /** Keeps a received delivery invisible for `seconds` (it comes back then, as a failed record). */
  async hold(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.min(Math.ceil(seconds), MAX_VISIBILITY_SECONDS),
      }),
    );
  }

  /** Queues a new copy of the delivery, delayed as far as SQS allows (an early copy waits out the rest). */
  async retry(delivery: WebhookDelivery, delaySeconds: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(delivery),
        DelaySeconds: Math.min(delaySeconds, MAX_DELAY_SECONDS),
      }),
    );
  }

  /** Moves a delivery's reference (never its data) to the webhook DLQ. */
  async deadLetter(reference: object): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.dlqUrl, MessageBody: JSON.stringify(reference) }),
    );
  }
}
