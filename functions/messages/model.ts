import type { KeyMode } from '#layers/core/api-keys.ts';
import { analyseBody, MAX_SEGMENTS } from '#layers/core/encoding.ts';
import type { FieldIssue } from '#layers/core/errors.ts';
import {
  type Category,
  isUnreadable,
  type MessageRecord,
  type StoredMessage,
  type TenantContext,
  type UnreadableMessage,
} from '#layers/core/model.ts';
import { checkRecipient } from '#layers/core/phone.ts';
import { classifyRecipient } from '#layers/core/residency.ts';
import { checkSender } from '#layers/core/sender.ts';
import { isWellFormed, LONE_SURROGATE_REASON } from '#layers/core/text.ts';

export interface SendInput {
  to: string;
  from: string;
  body: string;
  reference?: string | undefined;
  category?: Category | undefined;
}

/** A prepared message, with the recipient's country as the number check found it. */
export type Prepared =
  | { ok: true; message: MessageRecord; country: string | undefined }
  | { ok: false; issues: FieldIssue[] };

const DAY_SECONDS = 86_400;

/**
 * The field-level reasons a message's `to`, `from` and `body` cannot be sent, checking each
 * field given as a string (the others are the schema's to report), so a request with several
 * bad fields hears about all of them at once. `at` prefixes each pointer (a batch item's).
 */
export function messageFieldIssues(
  input: { to?: unknown; from?: unknown; body?: unknown },
  at = '',
): FieldIssue[] {
  return checkFields(input, at).issues;
}

function checkFields(input: { to?: unknown; from?: unknown; body?: unknown }, at: string) {
  const issues: FieldIssue[] = [];
  const to = typeof input.to === 'string' ? checkRecipient(input.to) : undefined;
  if (to && !to.ok) issues.push({ pointer: `${at}/to`, detail: `'to' ${to.reason}` });
  const from = typeof input.from === 'string' ? checkSender(input.from) : undefined;
  if (from && !from.ok) issues.push({ pointer: `${at}/from`, detail: `'from' ${from.reason}` });
  const body = typeof input.body === 'string' ? checkBody(input.body) : undefined;
  if (body && !body.ok) issues.push({ pointer: `${at}/body`, detail: `'body' ${body.reason}` });
  return { issues, to, from, body };
}

function checkBody(body: string) {
  if (!isWellFormed(body)) {
    return { ok: false, reason: LONE_SURROGATE_REASON } as const;
  }
  const analysis = analyseBody(body);
  if (analysis.characters === 0 || body.trim() === '')
    return { ok: false, reason: 'must not be empty' } as const;
  if (analysis.segments > MAX_SEGMENTS) {
    return {
      ok: false,
      reason: `needs ${analysis.segments} ${analysis.encoding} segments; the maximum is ${MAX_SEGMENTS}`,
    } as const;
  }
  return { ok: true, analysis } as const;
}

/**
 * Turns a shape-checked request into a message record, or the field-level reasons it cannot
 * be sent. `pointer` prefixes each reason so batch items point at their own index.
 */
export function prepareMessage(
  input: SendInput,
  ctx: Pick<TenantContext, 'tenantId' | 'mode' | 'retention'>,
  options: { id: string; now: Date; pointer?: string },
): Prepared {
  const { issues, to, from, body } = checkFields(input, options.pointer ?? '');
  if (!to?.ok || !from?.ok || !body?.ok) return { ok: false, issues };
  const analysis = body.analysis;
  return {
    ok: true,
    country: to.country,
    message: {
      tenantId: ctx.tenantId,
      id: options.id,
      // Classified by the region the number belongs to, with the shared-code traps in residency.ts.
      jurisdiction: classifyRecipient(to.e164).jurisdiction,
      mode: ctx.mode satisfies KeyMode,
      to: to.e164,
      country: to.country,
      from: from.value,
      fromType: from.type,
      body: input.body,
      bodyRetentionDays: ctx.retention.bodyDays,
      reference: input.reference,
      category: input.category ?? 'transactional',
      encoding: analysis.encoding,
      characters: analysis.characters,
      segments: analysis.segments,
      status: 'queued',
      createdAt: options.now.toISOString(),
      attempts: 0,
      expiresAt: Math.floor(options.now.getTime() / 1000) + ctx.retention.metadataDays * DAY_SECONDS,
    },
  };
}

/**
 * The public view of a message, as the API returns it; one whose sealed content does not open
 * is its id and plain metadata, marked `unreadable` (no recipient, reference or body).
 */
export function messageView(m: MessageRecord): ReadableMessageView;
export function messageView(m: StoredMessage): ReadableMessageView | UnreadableMessageView;
export function messageView(m: StoredMessage): ReadableMessageView | UnreadableMessageView {
  return isUnreadable(m) ? unreadableView(m) : readableView(m);
}

export type ReadableMessageView = ReturnType<typeof readableView>;
export type UnreadableMessageView = ReturnType<typeof unreadableView>;

/** What a message's view shows after its sender, readable or not (stored in clear). */
function plainView(m: UnreadableMessage | MessageRecord) {
  return {
    category: m.category,
    encoding: m.encoding,
    characters: m.characters,
    segments: m.segments,
    jurisdiction: m.jurisdiction,
    mode: m.mode,
    createdAt: m.createdAt,
    sentAt: m.sentAt ?? null,
    deliveredAt: m.deliveredAt ?? null,
    failedAt: m.failedAt ?? null,
    error: m.error ?? null,
  };
}

function unreadableView(m: UnreadableMessage) {
  return { id: m.id, unreadable: true as const, status: m.status, from: m.from, ...plainView(m) };
}

function readableView(m: MessageRecord) {
  return {
    id: m.id,
    status: m.status,
    to: m.to,
    from: m.from,
    body: m.body ?? null,
    reference: m.reference ?? null,
    ...plainView(m),
  };
}

/** A message without its content, for batch results: a replayable batch result stays small. */
export function messageSummary(m: MessageRecord) {
  return {
    id: m.id,
    status: m.status,
    to: m.to,
    encoding: m.encoding,
    characters: m.characters,
    segments: m.segments,
    jurisdiction: m.jurisdiction,
    createdAt: m.createdAt,
  };
}

export type MessageSummary = ReturnType<typeof messageSummary>;
