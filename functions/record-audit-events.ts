import type { SQSEvent } from 'aws-lambda';
import { systemClock } from '#layers/adapters/system.ts';
import type { AuditEntry } from '#layers/core/audit.ts';
import { makeAppendAudit } from '#layers/core/use-cases/audit-trail.ts';
import { loadSettings } from '#layers/declaration.ts';
import { logger, traced } from '#layers/telemetry.ts';
import { auditStore, onDemand } from '#layers/wiring.ts';
import { declaration } from './record-audit-events.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
const settings = loadSettings(declaration);

// Entries are chained in the region of the queue they came from, so only this region's store is
// ever built (the local runtime, one process for both regions, builds each on its first entry).
const append = makeAppendAudit({
  stores: onDemand(auditStore),
  clock: systemClock,
  retentionDays: settings.AUDIT_RETENTION_DAYS,
});

/**
 * Chains the audit queue's entries onto their tenants' trails. The queue is FIFO, grouped by
 * tenant: a failure fails the whole batch, which comes back in the same order (and whatever was
 * chained before the failure is recognised by its id and not chained twice).
 */
export const handler = traced(async (event: SQSEvent) => {
  logger.resetKeys();
  await append(event.Records.map((r) => JSON.parse(r.body) as AuditEntry));
});
