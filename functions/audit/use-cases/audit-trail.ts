import { requireReadable } from '#functions/messages/use-cases/read-messages.ts';
import { type AuditEntry, type AuditEvent, chainEntries, verifyChain } from '#layers/core/audit.ts';
import type { Jurisdiction, TenantContext } from '#layers/core/model.ts';
import type { Clock } from '#layers/ports/index.ts';
import type { AuditFilter, AuditStore } from '../ports.ts';

const DAY_SECONDS = 86_400;
const APPEND_ATTEMPTS = 5;

/**
 * Chains entries onto their tenants' trails, in the order given (the audit queue is FIFO per
 * tenant, so one writer appends to a trail at a time; the head's condition guards the rest).
 */
export function makeAppendAudit(deps: {
  stores: Record<Jurisdiction, AuditStore>;
  clock: Clock;
  retentionDays: number;
}) {
  return async (entries: AuditEntry[]) => {
    const groups = new Map<string, { tenantId: string; jurisdiction: Jurisdiction; group: AuditEntry[] }>();
    for (const e of entries) {
      const key = `${e.jurisdiction}|${e.tenantId}`;
      const found = groups.get(key);
      if (found) found.group.push(e);
      else groups.set(key, { tenantId: e.tenantId, jurisdiction: e.jurisdiction, group: [e] });
    }
    const expiresAt = Math.floor(deps.clock.now().getTime() / 1000) + deps.retentionDays * DAY_SECONDS;
    for (const { tenantId, jurisdiction, group } of groups.values()) {
      const store = deps.stores[jurisdiction];
      for (let attempt = 1; ; attempt++) {
        const head = await store.head(tenantId);
        const chained = chainEntries(head, group);
        if (chained.events.length === 0) break; // a redelivered batch: already chained
        if (await store.append(tenantId, chained.events, chained.head, head?.seq ?? 0, expiresAt)) break;
        if (attempt === APPEND_ATTEMPTS) {
          throw new Error(`The audit trail's head moved ${attempt} times while appending; retried later.`);
        }
      }
    }
  };
}

export interface AuditQuery extends AuditFilter {
  jurisdiction?: Jurisdiction | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * An event as answered: every field its hash covers (so an export can be verified on its own),
 * in a fixed order (DynamoDB returns attributes in any order).
 */
const view = (e: AuditEvent) => ({
  seq: e.seq,
  id: e.id,
  tenantId: e.tenantId,
  at: e.at,
  actor: e.actor,
  action: e.action,
  route: e.route,
  targets: e.targets,
  ip: e.ip,
  userAgent: e.userAgent,
  outcome: e.outcome,
  status: e.status,
  ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
  jurisdiction: e.jurisdiction,
  prevHash: e.prevHash,
  hash: e.hash,
});

/** A tenant's (or, for the operator, any trail's) audit events, and the chain's verification. */
export function makeAuditTrail(deps: {
  stores: Record<Jurisdiction, AuditStore>;
  clock: Clock;
  endpoints: Partial<Record<Jurisdiction, string>>;
}) {
  const where = (ctx: TenantContext | undefined, endpoint: Jurisdiction, wanted?: Jurisdiction) => {
    const j = wanted ?? endpoint;
    if (ctx) requireReadable(deps, ctx, endpoint, j);
    return j;
  };
  return {
    async list(tenantId: string, ctx: TenantContext | undefined, query: AuditQuery, endpoint: Jurisdiction) {
      const j = where(ctx, endpoint, query.jurisdiction);
      const { jurisdiction: _j, limit, cursor, ...filter } = query;
      const page = await deps.stores[j].list(tenantId, filter, { limit, cursor }, deps.clock.now());
      return { data: page.items.map(view), nextCursor: page.nextCursor ?? null, jurisdiction: j };
    },
    async verify(
      tenantId: string,
      ctx: TenantContext | undefined,
      query: { jurisdiction?: Jurisdiction | undefined },
      endpoint: Jurisdiction,
    ) {
      const j = where(ctx, endpoint, query.jurisdiction);
      // The head first, then the events up to its sequence: the tenant's own traffic keeps
      // appending while this reads, and an entry chained after the head was read is left for the
      // next verification, not taken for a deleted or forged tail. The store appends events and
      // moves the head in one transaction, and both reads are consistent, so every event up to
      // the head is there to read.
      const head = await deps.stores[j].head(tenantId);
      const headSeq = head?.seq ?? 0;
      const events = (await deps.stores[j].all(tenantId, deps.clock.now())).filter((e) => e.seq <= headSeq);
      const verification = verifyChain(events);
      // The newest kept event must be the head: a deleted tail shows here.
      const tailIntact = head === undefined ? events.length === 0 : events.at(-1)?.hash === head.hash;
      return {
        jurisdiction: j,
        ...verification,
        intact: verification.intact && tailIntact,
        ...(verification.intact && !tailIntact
          ? { broken: { seq: head?.seq ?? 0, reason: 'head_mismatch' as const } }
          : {}),
        headSeq,
      };
    },
  };
}
