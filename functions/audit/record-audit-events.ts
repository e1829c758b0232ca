import type { SQSEvent } from 'aws-lambda';
import { systemClock } from '#layers/adapters/system.ts';
import { type AuditEntry, OPERATOR_TRAIL } from '#layers/core/audit.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import { loadSettings } from '#layers/declaration.ts';
import { logger, traced } from '#layers/telemetry.ts';
import { inTenantScope } from '#layers/tenant-scope.ts';
import { auditStore, onDemand } from '#layers/wiring.ts';
import type { AuditStore } from './ports.ts';
import { declaration } from './record-audit-events.def.ts';
import { makeAppendAudit } from './use-cases/audit-trail.ts';
import { operatorAuditStore } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
const settings = loadSettings(declaration);

// Entries are chained in the region of the queue they came from, so only this region's store is
// ever built (the local runtime, one process for both regions, builds each on its first entry).
const appendTo = (stores: (j: Jurisdiction) => AuditStore) =>
  makeAppendAudit({
    stores: onDemand(stores),
    clock: systemClock,
    retentionDays: settings.AUDIT_RETENTION_DAYS,
  });
const append = appendTo(auditStore);
const appendOperator = appendTo(operatorAuditStore);

/**
 * Chains the audit queue's entries onto their tenants' trails. The queue is FIFO, grouped by
 * tenant: a failure fails the whole batch, which comes back in the same order (and whatever was
 * chained before the failure is recognised by its id and not chained twice). Each tenant's
 * entries are chained within that tenant's scope (its tenant-access role: IAM lets it reach that
 * tenant's trail only); a tenant whose credentials cannot be had fails the batch, retried whole.
 */
export const handler = traced(async (event: SQSEvent) => {
  logger.resetKeys();
  const perTenant = new Map<string, AuditEntry[]>();
  for (const r of event.Records) {
    const entry = JSON.parse(r.body) as AuditEntry;
    perTenant.set(entry.tenantId, [...(perTenant.get(entry.tenantId) ?? []), entry]);
  }
  for (const [tenantId, entries] of perTenant) {
    if (tenantId === OPERATOR_TRAIL) await appendOperator(entries);
    else await inTenantScope(tenantId, () => append(entries));
  }
});
