import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DispatchRecord } from '../core/model.ts';
import type { DispatchQueue } from '../ports/index.ts';
import { present } from '../present.ts';

/** Sends references (never content) in batches of ten, SQS's limit. */
export class SqsDispatchQueue implements DispatchQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(refs: DispatchRecord[], options?: { delaySeconds?: number }): Promise<{ failed: string[] }> {
    const chunks: DispatchRecord[][] = [];
    for (let i = 0; i < refs.length; i += 10) chunks.push(refs.slice(i, i + 10));
    const failed = await Promise.all(
      chunks.map(async (chunk) => {
        try {
          const out = await this.client.send(
            new SendMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: chunk.map((ref, i) => ({
                Id: String(i),
                MessageBody: JSON.stringify(ref),
                ...(options?.delaySeconds ? { DelaySeconds: options.delaySeconds } : {}),
              })),
            }),
          );
          // An entry's id is its place in the chunk (a failure to read one fails the chunk).
          return (out.Failed ?? []).map(
            (f) => present(chunk[Number(f.Id)], `the message of batch entry ${f.Id}`).messageId,
          );
        } catch {
          return chunk.map((r) => r.messageId);
        }
      }),
    );
    return { failed: failed.flat() };
  }
}
