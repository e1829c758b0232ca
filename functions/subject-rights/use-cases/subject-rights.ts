import { messageView } from '#functions/messages/model.ts';
import { requireReadable } from '#functions/messages/use-cases/read-messages.ts';
import { inboundView } from '#functions/recipients/use-cases/recipient-lists.ts';
import { ValidationError } from '#layers/core/errors.ts';
import type { Jurisdiction, TenantContext } from '#layers/core/model.ts';
import { checkRecipient } from '#layers/core/phone.ts';
import { classifyRecipient } from '#layers/core/residency.ts';
import type {
  Clock,
  IdempotencyStore,
  IdGenerator,
  MessageStore,
  RecipientStore,
  TenantStore,
} from '#layers/ports/index.ts';

export type ErasureReason = 'request' | 'minor' | 'other';

export interface SubjectDeps {
  messages: Record<Jurisdiction, MessageStore>;
  idempotency: Record<Jurisdiction, IdempotencyStore>;
  recipients: Record<Jurisdiction, RecipientStore>;
  tenants: TenantStore;
  clock: Clock;
  ids: IdGenerator;
  endpoints: Partial<Record<Jurisdiction, string>>;
  /** Point-in-time recovery window of the tables, in days (35 at most in DynamoDB). */
  backupWindowDays: number;
  /** How long an audit entry is kept (entries name message ids, never numbers or content). */
  auditRetentionDays: number;
  /** How long the record of an erasure (reason and counts, never the number) is kept. */
  erasureRecordDays: number;
}

const JURISDICTIONS: Jurisdiction[] = ['global', 'eu'];
const DAY_MS = 86_400_000;

function subject(raw: string): string {
  const check = checkRecipient(raw);
  if (!check.ok) throw new ValidationError([{ parameter: 'phone', detail: `'phone' ${check.reason}` }]);
  return check.e164;
}

/** The jurisdiction a subject's data lives in (a malformed number is refused with a field-level reason). */
export const subjectHome = (phone: string): Jurisdiction => classifyRecipient(subject(phone)).jurisdiction;

/**
 * Data subject rights, scoped to the calling tenant: everything it holds about a number, and the
 * erasure of every live trace of it. A number's data lives only in its own jurisdiction (its
 * messages, replies, lists and counters all go there), so only that region's stores are read:
 * a strict tenant reaches an EU/EEA subject through the EU endpoint only, and any other subject
 * through either. The other jurisdiction's section of an export is empty by construction.
 */
export function makeSubjectRights(deps: SubjectDeps) {
  return {
    async export(ctx: TenantContext, phone: string, endpoint: Jurisdiction) {
      const e164 = subject(phone);
      const home = classifyRecipient(e164).jurisdiction;
      requireReadable(deps, ctx, endpoint, home);
      const now = deps.clock.now();
      const jurisdictions = await Promise.all(
        JURISDICTIONS.map(async (j) => {
          // The other jurisdiction holds nothing of this number: its section is empty, unread.
          const read = j === home;
          const ids = read ? await deps.messages[j].idsForSubject(ctx.tenantId, e164, now) : [];
          const found = await Promise.all(ids.map((id) => deps.messages[j].get(ctx.tenantId, id, now)));
          // A message that does not open is listed, marked, with its plain metadata.
          const messages = found.flatMap((m) => (m ? [messageView(m)] : []));
          messages.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
          // Reached only when read: a region that relays the other's subjects has no stores there.
          const [optOut, consents, replies] = read
            ? await Promise.all([
                deps.recipients[j].getOptOut(ctx.tenantId, e164),
                deps.recipients[j].consents(ctx.tenantId, e164),
                deps.recipients[j].inboundFrom(ctx.tenantId, e164, now),
              ])
            : [undefined, [], []];
          return [
            j,
            {
              messages,
              optOut: optOut ?? null,
              consents,
              replies: replies.map(inboundView),
            },
          ] as const;
        }),
      );
      return {
        subject: e164,
        generatedAt: now.toISOString(),
        // Every jurisdiction has its section (JURISDICTIONS lists them all).
        jurisdictions: Object.fromEntries(jurisdictions) as Record<
          Jurisdiction,
          (typeof jurisdictions)[number][1]
        >,
      };
    },

    async erase(ctx: TenantContext, phone: string, reason: ErasureReason, endpoint: Jurisdiction) {
      const e164 = subject(phone);
      const home = classifyRecipient(e164).jurisdiction;
      requireReadable(deps, ctx, endpoint, home);
      const now = deps.clock.now();
      let messages = 0;
      let idempotencyRecords = 0;
      let consentsAndReplies = 0;
      let optOutsKept = 0;
      for (const j of [home]) {
        consentsAndReplies += await deps.recipients[j].removeForSubject(ctx.tenantId, e164);
        if (await deps.recipients[j].getOptOut(ctx.tenantId, e164)) optOutsKept++;
        const ids = await deps.messages[j].idsForSubject(ctx.tenantId, e164, now);
        await deps.messages[j].remove(ctx.tenantId, ids);
        messages += ids.length;
        idempotencyRecords += await deps.idempotency[j].removeForSubject(ctx.tenantId, e164);
      }
      const recordKeptUntil = new Date(now.getTime() + deps.erasureRecordDays * DAY_MS);
      const record = {
        id: deps.ids.next('era'),
        tenantId: ctx.tenantId,
        reason,
        erasedAt: now.toISOString(),
        removed: { messages, idempotencyRecords, consentsAndReplies },
        keptUntil: recordKeptUntil.toISOString(),
      };
      // The record of the erasure: reason, time and counts, never the number.
      await deps.tenants.recordErasure(record);
      return {
        erasureId: record.id,
        reason,
        erasedAt: record.erasedAt,
        removed: record.removed,
        remains: [
          {
            what: 'point-in-time recovery backups of the tables',
            until: new Date(now.getTime() + deps.backupWindowDays * DAY_MS).toISOString(),
          },
          {
            what: 'this erasure record (reason, time and counts, without the number)',
            until: record.keptUntil,
          },
          ...(messages > 0
            ? [
                {
                  what: 'audit trail entries of the calls that sent or read these messages (their ids; no number, no content): a hash chain cannot drop entries',
                  until: new Date(now.getTime() + deps.auditRetentionDays * DAY_MS).toISOString(),
                },
              ]
            : []),
          ...(optOutsKept > 0
            ? [
                {
                  what: "the number's opt-out (sealed), so that it is never texted again; it goes when the account closes",
                  until: null,
                },
              ]
            : []),
        ],
      };
    },
  };
}
