import type { FieldIssue } from '../core/errors.ts';
import { messageFieldIssues } from '../core/messages.ts';
import { firstPerField, issuesFrom } from './handler.ts';
import { SendMessageRequest } from './schemas.ts';

export type ParsedSendRequest = { ok: true; input: SendMessageRequest } | { ok: false; issues: FieldIssue[] };

/**
 * One message of a send request (`at`: a batch item's pointer). Its shape is the schema's;
 * when the shape fails, the core's own checks of `to`, `from` and `body` run on the fields that
 * are strings too, so a request with several bad fields hears about every one of them at once
 * (zod leaves a field whose shape passed unchecked beyond it). A request whose shape passes is
 * checked by the core when the message is prepared, once.
 */
export function parseSendRequest(value: unknown, at = ''): ParsedSendRequest {
  const parsed = SendMessageRequest.safeParse(value);
  if (parsed.success) return { ok: true, input: parsed.data };
  const fields =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? messageFieldIssues(value as Record<string, unknown>, at)
      : [];
  return { ok: false, issues: firstPerField([...issuesFrom(parsed.error, 'pointer', at), ...fields]) };
}
