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
  // Every record's outcome, each beside its record, once all have settled.
  const outcomes = await Promise.all(
    event.Records.map((record) =>
      handle(record).then(
        () => ({ record, failed: false as const }),
        (error: unknown) => ({ record, failed: true as const, error }),
      ),
    ),
  );
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const outcome of outcomes) {
    if (outcome.failed) {
      onError(outcome.record, outcome.error);
      batchItemFailures.push({ itemIdentifier: outcome.record.messageId });
    }
  }
  return { batchItemFailures };
}
