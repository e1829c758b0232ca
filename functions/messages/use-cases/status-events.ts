import type { Jurisdiction } from '#layers/core/model.ts';
import type { StatusChange } from '#layers/core/usage.ts';
import { tally } from '#layers/core/usage.ts';
import type { UsageLedger } from '#layers/ports/index.ts';
import type { StatusEvents } from '../ports.ts';

/**
 * Collects the status changes of a unit of work (a worker's batch, a request) and, on `flush`,
 * adds them to the usage counters in one write per tenant, day, country, mode and status, and
 * hands them to `notify` (webhooks). A failure there is reported to `onError` and does not fail
 * the work: the messages' own states are already stored; a lost count is logged and alarmed.
 */
export function makeStatusEvents(deps: {
  ledgers: (j: Jurisdiction) => UsageLedger;
  notify?: ((changes: StatusChange[]) => Promise<void>) | undefined;
  onError: (what: 'usage' | 'webhooks', error: unknown) => void;
  /**
   * Runs one tenant's share of a flush (its counters, its webhooks) on that tenant's behalf: a
   * worker's batch holds several tenants' changes, each recorded within its tenant's scope.
   */
  asTenant?: ((tenantId: string, work: () => Promise<void>) => Promise<void>) | undefined;
}): StatusEvents {
  let pending: StatusChange[] = [];
  const record = async (changes: StatusChange[]) => {
    const counts = tally(changes);
    await Promise.all([
      ...(['global', 'eu'] as const).map(async (j) => {
        const mine = counts.filter((c) => c.jurisdiction === j);
        if (mine.length === 0) return;
        await deps
          .ledgers(j)
          .add(mine)
          .catch((error: unknown) => deps.onError('usage', error));
      }),
      deps.notify?.(changes).catch((error: unknown) => deps.onError('webhooks', error)),
    ]);
  };
  return {
    changed(change) {
      pending.push(change);
    },
    async flush() {
      const changes = pending;
      pending = [];
      if (changes.length === 0) return;
      const asTenant = deps.asTenant;
      if (!asTenant) return record(changes);
      const perTenant = new Map<string, StatusChange[]>();
      for (const c of changes) perTenant.set(c.tenantId, [...(perTenant.get(c.tenantId) ?? []), c]);
      await Promise.all(
        [...perTenant].map(([tenantId, mine]) =>
          asTenant(tenantId, () => record(mine)).catch((error: unknown) => deps.onError('usage', error)),
        ),
      );
    },
  };
}
