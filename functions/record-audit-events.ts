import type { SQSEvent } from 'aws-lambda';
import { systemClock } from '#layers/adapters/system.ts';
import { loadConfig, setting } from '#layers/config.ts';
import type { AuditEntry } from '#layers/core/audit.ts';
import { makeAppendAudit } from '#layers/core/use-cases/audit-trail.ts';
import { logger, traced } from '#layers/telemetry.ts';
import { auditStore, both } from '#layers/wiring.ts';

const append = makeAppendAudit({
  stores: both(auditStore),
  clock: systemClock,
  retentionDays: loadConfig({ AUDIT_RETENTION_DAYS: setting.positiveInt }).AUDIT_RETENTION_DAYS,
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
