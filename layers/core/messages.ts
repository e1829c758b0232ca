import type { KeyMode } from './api-keys.ts';
import { analyseBody, MAX_SEGMENTS } from './encoding.ts';
import type { FieldIssue } from './errors.ts';
import type { Category, MessageRecord, TenantContext } from './model.ts';
import { checkRecipient } from './phone.ts';
import { classifyRecipient } from './residency.ts';
import { checkSender } from './sender.ts';

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
 * Turns a shape-checked request into a message record, or the field-level reasons it cannot
 * be sent. `pointer` prefixes each reason so batch items point at their own index.
 */
export function prepareMessage(
  input: SendInput,
  ctx: Pick<TenantContext, 'tenantId' | 'mode' | 'retention'>,
  options: { id: string; now: Date; pointer?: string },
): Prepared {
  const at = options.pointer ?? '';
  const issues: FieldIssue[] = [];
  const to = checkRecipient(input.to);
  if (!to.ok) issues.push({ pointer: `${at}/to`, detail: `'to' ${to.reason}` });
  const from = checkSender(input.from);
  if (!from.ok) issues.push({ pointer: `${at}/from`, detail: `'from' ${from.reason}` });
  const analysis = analyseBody(input.body);
  if (analysis.characters === 0 || input.body.trim() === '') {
    issues.push({ pointer: `${at}/body`, detail: "'body' must not be empty" });
  } else if (analysis.segments > MAX_SEGMENTS) {
    issues.push({
      pointer: `${at}/body`,
      detail: `'body' needs ${analysis.segments} ${analysis.encoding} segments; the maximum is ${MAX_SEGMENTS}`,
    });
  }
  if (!to.ok || !from.ok || issues.length > 0) return { ok: false, issues };
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

/** The public view of a message, as the API returns it. */
export function messageView(m: MessageRecord) {
  return {
    id: m.id,
    status: m.status,
    to: m.to,
    from: m.from,
    body: m.body ?? null,
    reference: m.reference ?? null,
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
