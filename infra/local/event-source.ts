import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { present } from '../../layers/present.ts';
import { lambdaContext } from './http-gateway.ts';

const IDLE_MS = 100;

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

function toRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: present(m.MessageId, "SQS ReceiveMessage's MessageId"),
    receiptHandle: present(m.ReceiptHandle, "SQS ReceiveMessage's ReceiptHandle"),
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * Polls a queue into a handler with the semantics of Lambda's SQS event source mapping: up to
 * `batchSize` records per invocation, `concurrency` invocations at most at once (ScalingConfig's
 * MaximumConcurrency); with ReportBatchItemFailures, records the handler does not list as failed
 * are deleted, without it all are; if it throws or times out, none are (they come back after the
 * visibility timeout, and the queue's redrive policy moves them to the DLQ after maxReceiveCount).
 * Locally the poller does not wait out MaximumBatchingWindowInSeconds: it hands over what one
 * short poll returns, which keeps each hop at about 100 ms.
 */
export class SqsEventSource {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly options: {
      name: string;
      sqs: SQSClient;
      queueUrl: string;
      queueArn: string;
      region: string;
      batchSize: number;
      reportBatchItemFailures: boolean;
      concurrency: number;
      timeoutMs: number;
      handler: SqsHandler;
    },
  ) {}

  start() {
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  private async loop() {
    const o = this.options;
    while (this.running) {
      let messages: Message[] = [];
      try {
        const out = await o.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: o.queueUrl,
            MaxNumberOfMessages: o.batchSize,
            // The local SQS answers a long poll only when its wait ends, even if a message arrives
            // meanwhile; short polls with a pause when idle keep each hop at about 100 ms.
            WaitTimeSeconds: 0,
            AttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch {
        if (!this.running) return;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length === 0) {
        await this.idle(IDLE_MS);
        continue;
      }
      const records = messages.map((m) => toRecord(m, o.queueArn, o.region));
      let failed: Set<string>;
      try {
        const result = await Promise.race([
          o.handler({ Records: records }, lambdaContext(o.name, o.timeoutMs)),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('timeout')), o.timeoutMs).unref(),
          ),
        ]);
        failed = new Set(
          o.reportBatchItemFailures ? (result?.batchItemFailures ?? []).map((f) => f.itemIdentifier) : [],
        );
      } catch {
        continue;
      }
      const done = records.filter((r) => !failed.has(r.messageId));
      if (done.length === 0) continue;
      await o.sqs
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: o.queueUrl,
            Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
          }),
        )
        .catch(() => undefined);
    }
  }

  private idle(ms: number) {
    const signal = this.abort.signal;
    return new Promise<void>((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async stop() {
    this.running = false;
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }
}
