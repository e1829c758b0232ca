import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { loadConfig, setting } from '#layers/config.ts';
import type { FieldIssue } from '#layers/core/errors.ts';
import { type BatchItemResult, makeSendBatch } from '#layers/core/use-cases/send-messages.ts';
import {
  idempotencyKeyFrom,
  issuesFrom,
  parseJsonBody,
  parseWith,
  tenantRoute,
} from '#layers/http/handler.ts';
import { problem } from '#layers/http/problems.ts';
import { SendBatchRequest, SendMessageRequest } from '#layers/http/schemas.ts';
import { dispatchQueue, idempotencyStore, messageStore } from '#layers/wiring.ts';

const config = loadConfig({
  JURISDICTION: setting.jurisdiction,
  MESSAGE_RETENTION_DAYS: setting.positiveInt,
});

const sendBatch = makeSendBatch({
  messages: messageStore(),
  idempotency: idempotencyStore(),
  queue: dispatchQueue(),
  clock: systemClock,
  ids: ulidIds,
  retentionDays: config.MESSAGE_RETENTION_DAYS,
  jurisdiction: config.JURISDICTION,
});

function itemProblem(r: Exclude<BatchItemResult, { status: 'accepted' }>) {
  return r.reason === 'validation'
    ? problem('validation-error', 'This message has invalid fields.', 422, undefined, r.errors)
    : problem('service-unavailable', 'This message could not be queued; send it again.', 503);
}

export const handler = tenantRoute('send', async (event, tenant) => {
  const key = idempotencyKeyFrom(event);
  const { messages } = parseWith(SendBatchRequest, parseJsonBody(event), 'pointer');
  // Each item is checked on its own, so one bad item never sinks the others.
  const items = messages.map((raw, index) => {
    const parsed = SendMessageRequest.safeParse(raw);
    return parsed.success
      ? ({ ok: true, input: parsed.data } as const)
      : ({
          ok: false,
          issues: issuesFrom(parsed.error, 'pointer', `/messages/${index}`) satisfies FieldIssue[],
        } as const);
  });
  const { result, replayed } = await sendBatch(tenant, items, key);
  return {
    status: 200,
    body: {
      accepted: result.accepted,
      rejected: result.rejected,
      results: result.results.map((r) =>
        r.status === 'accepted' ? r : { index: r.index, status: r.status, problem: itemProblem(r) },
      ),
    },
    headers: replayed ? { 'idempotent-replayed': 'true' } : undefined,
  };
});
