import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Processes each record on its own and reports only the failed ones (ReportBatchItemFailures),
 * so one bad record never makes SQS redeliver the whole batch.
 */
export async function processRecords(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  onError: (record: SQSRecord, error: unknown) => void,
): Promise<SQSBatchResponse> {
  const outcomes = await Promise.allSettled(event.Records.map((r) => handle(r)));
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  outcomes.forEach((o, i) => {
    const record = event.Records[i]!;
    if (o.status === 'rejected') {
      onError(record, o.reason);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  });
  return { batchItemFailures };
}
