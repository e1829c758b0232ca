import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AuditEntry } from '../core/audit.ts';
import type { AuditSink } from '../ports/index.ts';

/**
 * Puts audit entries on the jurisdiction's FIFO audit queue, grouped by tenant: the recorder
 * then sees each tenant's entries in order and alone, so its chain has one writer at a time.
 */
export class SqsAuditSink implements AuditSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(entry),
        MessageGroupId: entry.tenantId,
        MessageDeduplicationId: entry.id,
      }),
    );
  }
}
