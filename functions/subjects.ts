import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { makeSubjectRights } from '#layers/core/use-cases/subject-rights.ts';
import { loadSettings } from '#layers/declaration.ts';
import {
  endpointJurisdiction,
  parseRequest,
  parseWith,
  tenantFrom,
  tenantRoute,
} from '#layers/http/handler.ts';
import { ErasureQuery, SubjectParams } from '#layers/http/schemas.ts';
import {
  both,
  endpoints,
  idempotencyStore,
  messageStore,
  ownJurisdiction,
  recipientStore,
  tenantGuards,
  tenantStore,
} from '#layers/wiring.ts';
import { declaration } from './subjects.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
const settings = loadSettings(declaration);

const subjects = makeSubjectRights({
  messages: both(messageStore),
  idempotency: both(idempotencyStore),
  recipients: both(recipientStore),
  tenants: tenantStore(),
  clock: systemClock,
  ids: ulidIds,
  endpoints: endpoints(),
  backupWindowDays: settings.BACKUP_WINDOW_DAYS,
  auditRetentionDays: settings.AUDIT_RETENTION_DAYS,
  erasureRecordDays: settings.ERASURE_RECORD_DAYS,
});

/** Data subject rights: export (scope read) and erasure (scope admin). */
export const handler = tenantRoute(
  'read',
  async (event, tenant) => {
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    if (event.routeKey.startsWith('DELETE ')) {
      tenantFrom(event, 'admin');
      const { params, query } = parseRequest(event, { params: SubjectParams, query: ErasureQuery });
      return { status: 200, body: await subjects.erase(tenant, params.phone, query.reason, endpoint) };
    }
    const { phone } = parseWith(SubjectParams, event.pathParameters ?? {}, 'parameter');
    return { status: 200, body: await subjects.export(tenant, phone, endpoint) };
  },
  tenantGuards,
);
