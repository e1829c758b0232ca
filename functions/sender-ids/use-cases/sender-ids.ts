import { requireReadable } from '#functions/messages/use-cases/read-messages.ts';
import type { TenantCrypto } from '#layers/core/crypto.ts';
import { ConflictError, NotFoundError, ValidationError } from '#layers/core/errors.ts';
import type { Jurisdiction, TenantContext } from '#layers/core/model.ts';
import { checkSender } from '#layers/core/sender.ts';
import type { Clock, IdGenerator, SenderIdRecord, SenderIdStore, TenantStore } from '#layers/ports/index.ts';
import type { SenderIdentity } from '../ports.ts';

export interface SenderIdDeps {
  senderIds: SenderIdStore;
  tenants: Pick<TenantStore, 'getTenant'>;
  /** Identity details are sealed under the tenant's key in its home jurisdiction. */
  crypto: (jurisdiction: Jurisdiction) => TenantCrypto;
  clock: Clock;
  ids: IdGenerator;
  /** Days the identity details are kept after the decision. */
  identityRetentionDays: number;
  /** Each jurisdiction's public endpoint, named when an application is misdirected (421). */
  endpoints?: Partial<Record<Jurisdiction, string>> | undefined;
}

const DAY_MS = 86_400_000;
/** An undecided application's identity details are kept at most this long. */
const PENDING_DAYS = 180;

/** An operator's decision: a rejection says why (the tenant is told). */
export const decisionProblem = (input: { decision: 'approved' | 'rejected'; reason?: string | undefined }) =>
  input.decision === 'rejected' && !input.reason ? 'is required to reject an application' : undefined;

export interface SenderIdApplication {
  value: string;
  countries: string[];
  identity: SenderIdentity;
}

/**
 * Sender IDs are applied for with the business's identity and used only once an operator
 * approved them. The identity details are sealed under the tenant's key and purged a
 * configured time after the decision; the decision itself (who, what, when, why) stays.
 */
export function makeSenderIds(deps: SenderIdDeps) {
  async function home(tenantId: string) {
    const tenant = await deps.tenants.getTenant(tenantId);
    if (!tenant) throw new NotFoundError('tenant', tenantId);
    return tenant.homeJurisdiction;
  }

  return {
    /** The jurisdiction whose key seals the tenant's applications: its home one. */
    home,

    /**
     * An application at `endpoint`: its identity details are sealed under the tenant's home
     * jurisdiction's key, so a strict EU tenant applies through the EU endpoint (421 elsewhere).
     */
    async apply(ctx: TenantContext, input: SenderIdApplication, endpoint: Jurisdiction) {
      const where = await home(ctx.tenantId);
      requireReadable({ endpoints: deps.endpoints ?? {} }, ctx, endpoint, where);
      const check = checkSender(input.value);
      if (!check.ok) throw new ValidationError([{ pointer: '/value', detail: `'value' ${check.reason}` }]);
      const existing = await deps.senderIds.list(ctx.tenantId);
      if (
        existing.some((s) => s.value.toLowerCase() === check.value.toLowerCase() && s.status !== 'rejected')
      ) {
        throw new ConflictError('sender-id-exists', `'${check.value}' is already applied for or approved.`);
      }
      const now = deps.clock.now();
      const record: SenderIdRecord = {
        id: deps.ids.next('sid'),
        tenantId: ctx.tenantId,
        value: check.value,
        type: check.type,
        countries: [...new Set(input.countries)].sort(),
        status: 'pending',
        appliedAt: now.toISOString(),
      };
      const sealed = await deps
        .crypto(where)
        .seal(ctx.tenantId, 'sender-id', record.id, JSON.stringify(input.identity));
      await deps.senderIds.apply(record, sealed, new Date(now.getTime() + PENDING_DAYS * DAY_MS));
      return record;
    },

    list: (ctx: TenantContext) => deps.senderIds.list(ctx.tenantId).then((data) => ({ data })),

    /** One of the tenant's own sender IDs (another account's id is not found, as an unknown one). */
    async get(ctx: TenantContext, id: string) {
      const record = await deps.senderIds.get(ctx.tenantId, id);
      if (!record) throw new NotFoundError('sender ID', id);
      return record;
    },

    listPending: () => deps.senderIds.listPending().then((data) => ({ data })),

    /** For the operator: the application with its identity details while they are kept. */
    async review(tenantId: string, id: string) {
      const record = await deps.senderIds.get(tenantId, id);
      if (!record) throw new NotFoundError('sender ID', id);
      const sealed = await deps.senderIds.identity(tenantId, id, deps.clock.now());
      const identity = sealed
        ? (JSON.parse(
            (await deps.crypto(await home(tenantId)).open(tenantId, 'sender-id', id, sealed)).toString(
              'utf8',
            ),
          ) as SenderIdentity)
        : null;
      return { ...record, identity };
    },

    async decide(
      tenantId: string,
      id: string,
      input: { decision: 'approved' | 'rejected'; reason?: string | undefined },
    ) {
      const record = await deps.senderIds.get(tenantId, id);
      if (!record) throw new NotFoundError('sender ID', id);
      if (record.status !== 'pending') {
        throw new ConflictError(
          'sender-id-decided',
          `This application was already ${record.status} on ${record.decidedAt}.`,
        );
      }
      const missing = decisionProblem(input);
      if (missing) throw new ValidationError([{ pointer: '/reason', detail: `'reason' ${missing}` }]);
      const now = deps.clock.now();
      const purgeAt = new Date(now.getTime() + deps.identityRetentionDays * DAY_MS);
      await deps.senderIds.decide(tenantId, id, {
        status: input.decision,
        reason: input.reason,
        decidedAt: now,
        purgeAt,
      });
      // Gone since (the account closed meanwhile): as if it had not been found.
      const decided = await deps.senderIds.get(tenantId, id);
      if (!decided) throw new NotFoundError('sender ID', id);
      return decided;
    },
  };
}
