import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  firstPerField,
  issuesFrom,
  parseJsonBody,
  type Read,
  readIdempotencyKey,
  readWith,
  whole,
} from '#layers/http/handler.ts';
import { messageFieldIssues } from './model.ts';
import { SendBatchRequest, SendMessageRequest } from './schemas.ts';

/**
 * One message of a send request (`at`: a batch item's pointer). Its shape is the schema's;
 * when the shape fails, the core's own checks of `to`, `from` and `body` run on the fields that
 * are strings too, so a request with several bad fields hears about every one of them at once
 * (zod leaves a field whose shape passed unchecked beyond it). A request whose shape passes is
 * checked by the core when the message is prepared, once.
 */
export function parseSendRequest(value: unknown, at = ''): Read<SendMessageRequest> {
  const parsed = SendMessageRequest.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const fields =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? messageFieldIssues(value as Record<string, unknown>, at)
      : [];
  return { ok: false, issues: firstPerField([...issuesFrom(parsed.error, 'pointer', at), ...fields]) };
}

/**
 * POST /v1/messages: its Idempotency-Key and its message, read together, so a bad header and a bad
 * body field are named in one 422. A message of the right shape has its fields checked by the core
 * when it is prepared; with a bad header it never gets there, so they are checked here then.
 */
export function readSendMessage(event: APIGatewayProxyEventV2) {
  const key = readIdempotencyKey(event);
  let input = parseSendRequest(parseJsonBody(event));
  if (!key.ok && input.ok) {
    const issues = messageFieldIssues(input.value);
    if (issues.length > 0) input = { ok: false, issues };
  }
  return whole({ key, input });
}

/** POST /v1/messages/batch: its Idempotency-Key and its list, read together (items are read one by one later). */
export function readSendBatch(event: APIGatewayProxyEventV2) {
  return whole({
    key: readIdempotencyKey(event),
    batch: readWith(SendBatchRequest, parseJsonBody(event), 'pointer'),
  });
}
