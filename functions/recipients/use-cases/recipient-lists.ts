import { readableFrom, requireReadable } from '#functions/messages/use-cases/read-messages.ts';
import { ConflictError, ValidationError } from '#layers/core/errors.ts';
import { isUnreadable, type Jurisdiction, type TenantContext } from '#layers/core/model.ts';
import { checkRecipient } from '#layers/core/phone.ts';
import { classifyRecipient } from '#layers/core/residency.ts';
import type {
  Clock,
  IdGenerator,
  InboundRecord,
  OptOutScope,
  RecipientStore,
  UnreadableInbound,
} from '#layers/ports/index.ts';

export interface RecipientListDeps {
  recipients: Record<Jurisdiction, RecipientStore>;
  clock: Clock;
  ids: IdGenerator;
  endpoints: Partial<Record<Jurisdiction, string>>;
  /**
   * The global endpoint relays a forward tenant's EU/EEA numbers and EU lists to the EU API (the
   * caller does, by `numberHome`), so it lists its own region only.
   */
  relaysToEu?: boolean | undefined;
}

function subject(phone: string, pointer = '/phone') {
  const check = checkRecipient(phone);
  if (!check.ok) {
    throw new ValidationError([
      pointer.startsWith('/')
        ? { pointer, detail: `'phone' ${check.reason}` }
        : { parameter: 'phone', detail: `'phone' ${check.reason}` },
    ]);
  }
  return { e164: check.e164, jurisdiction: classifyRecipient(check.e164).jurisdiction };
}

/** A number's jurisdiction, where its lists are kept; none for what is not a number (the use case says why). */
export function numberHome(phone: unknown): Jurisdiction | undefined {
  if (typeof phone !== 'string') return undefined;
  const check = checkRecipient(phone);
  return check.ok ? classifyRecipient(check.e164).jurisdiction : undefined;
}

/** A consent's time may run ahead of ours by a clock's drift, never more. */
export const consentTimeProblem = (at: string, now: Date) =>
  Date.parse(at) > now.getTime() + 60_000 ? 'cannot be in the future' : undefined;

/**
 * The public view of a reply, as the API returns it; one whose sealed numbers or body do not
 * open is marked `unreadable`, with its id, keyword and time only.
 */
export const inboundView = (r: InboundRecord | UnreadableInbound) =>
  isUnreadable(r)
    ? {
        id: r.id,
        unreadable: true as const,
        keyword: r.keyword ?? null,
        action: r.action ?? null,
        receivedAt: r.receivedAt,
      }
    : {
        id: r.id,
        from: r.from,
        to: r.to,
        body: r.body ?? null,
        keyword: r.keyword ?? null,
        action: r.action ?? null,
        receivedAt: r.receivedAt,
      };

export interface ConsentInput {
  phone: string;
  source: string;
  disclosureVersion: string;
  occurredAt?: string | undefined;
  ip?: string | undefined;
}

/**
 * A tenant's opt-out list and consent ledger. Both live in each number's own jurisdiction.
 * Taking a number off the opt-out list needs a consent recorded after the opt-out: the
 * person's own new agreement, never the tenant's say-so.
 */
export function makeRecipientLists(deps: RecipientListDeps) {
  return {
    async listOptOuts(ctx: TenantContext, endpoint: Jurisdiction) {
      const lists = await Promise.all(
        readableFrom(ctx, endpoint, deps.relaysToEu).map((j) => deps.recipients[j].listOptOuts(ctx.tenantId)),
      );
      return { data: lists.flat().sort((a, b) => b.at.localeCompare(a.at)) };
    },

    async addOptOut(
      ctx: TenantContext,
      input: { phone: string; scope: OptOutScope },
      endpoint: Jurisdiction,
    ) {
      const s = subject(input.phone);
      requireReadable(deps, ctx, endpoint, s.jurisdiction);
      const entry = { phone: s.e164, scope: input.scope, source: 'api', at: deps.clock.now().toISOString() };
      await deps.recipients[s.jurisdiction].putOptOut(ctx.tenantId, entry);
      return entry;
    },

    async removeOptOut(ctx: TenantContext, phone: string, endpoint: Jurisdiction) {
      const s = subject(phone, 'phone');
      requireReadable(deps, ctx, endpoint, s.jurisdiction);
      const store = deps.recipients[s.jurisdiction];
      const entry = await store.getOptOut(ctx.tenantId, s.e164);
      if (!entry) return { removed: false };
      const latest = (await store.consents(ctx.tenantId, s.e164)).at(-1);
      if (latest?.kind !== 'granted' || latest.at <= entry.at) {
        throw new ConflictError(
          'consent-required',
          `This number opted out on ${entry.at}. Record its new consent (POST /v1/consents) before removing the opt-out.`,
        );
      }
      await store.removeOptOut(ctx.tenantId, s.e164);
      return { removed: true };
    },

    async recordConsent(
      ctx: TenantContext,
      input: ConsentInput,
      requestIp: string | undefined,
      endpoint: Jurisdiction,
    ) {
      const s = subject(input.phone);
      requireReadable(deps, ctx, endpoint, s.jurisdiction);
      const now = deps.clock.now();
      const at = input.occurredAt ?? now.toISOString();
      const late = consentTimeProblem(at, now);
      if (late) throw new ValidationError([{ pointer: '/occurredAt', detail: `'occurredAt' ${late}` }]);
      const entry = {
        id: deps.ids.next('con'),
        phone: s.e164,
        kind: 'granted' as const,
        source: input.source,
        at,
        ip: input.ip ?? requestIp,
        disclosureVersion: input.disclosureVersion,
      };
      await deps.recipients[s.jurisdiction].appendConsent(ctx.tenantId, entry);
      return entry;
    },

    async consentLedger(ctx: TenantContext, phone: string, endpoint: Jurisdiction) {
      const s = subject(phone, 'phone');
      requireReadable(deps, ctx, endpoint, s.jurisdiction);
      const ledger = await deps.recipients[s.jurisdiction].consents(ctx.tenantId, s.e164);
      return { phone: s.e164, live: ledger.at(-1)?.kind === 'granted', data: ledger };
    },
    async listInbound(
      ctx: TenantContext,
      query: { limit: number; cursor?: string | undefined; jurisdiction?: Jurisdiction | undefined },
      endpoint: Jurisdiction,
    ) {
      const j = query.jurisdiction ?? endpoint;
      requireReadable(deps, ctx, endpoint, j);
      const page = await deps.recipients[j].listInbound(ctx.tenantId, query, deps.clock.now());
      return {
        data: page.items.map(inboundView),
        nextCursor: page.nextCursor ?? null,
        jurisdiction: j,
      };
    },
  };
}
