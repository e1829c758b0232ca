import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { loadSettings } from '#layers/declaration.ts';
import { euOrHereOperation, tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import {
  endpoints,
  idempotencyStore,
  messageStore,
  onDemand,
  recipientStore,
  tenantStore,
} from '#layers/wiring.ts';
import { declaration } from './subjects.def.ts';
import { makeSubjectRights, subjectHome } from './use-cases/subject-rights.ts';

// This function's settings, parsed (and registered) before anything else reads one.
const settings = loadSettings(declaration);

const subjects = makeSubjectRights({
  messages: onDemand(messageStore),
  idempotency: onDemand(idempotencyStore),
  recipients: onDemand(recipientStore),
  tenants: tenantStore(),
  clock: systemClock,
  ids: ulidIds,
  endpoints: endpoints(),
  backupWindowDays: settings.BACKUP_WINDOW_DAYS,
  auditRetentionDays: settings.AUDIT_RETENTION_DAYS,
  erasureRecordDays: settings.ERASURE_RECORD_DAYS,
});

/** Data subject rights: export (scope read) and erasure (scope admin). */
// A forward tenant's EU/EEA subject at the global endpoint: the EU API answers, as asked.
export const operations = {
  eraseSubject: euOrHereOperation<'eraseSubject'>(
    ({ params }) => subjectHome(params.phone),
    async ({ params, query, tenant }, endpoint) => ({
      status: 200,
      body: await subjects.erase(tenant, params.phone, query.reason, endpoint),
    }),
  ),
  exportSubject: euOrHereOperation<'exportSubject'>(
    ({ params }) => subjectHome(params.phone),
    async ({ params, tenant }, endpoint) => ({
      status: 200,
      body: await subjects.export(tenant, params.phone, endpoint),
    }),
  ),
} satisfies Operations<'subjects'>;

export const handler = operationsHandler('subjects', operations, { guards: tenantGuards });
