import { problems, type Route } from '#layers/http/route.ts';
import { AuditEventList } from '#layers/http/schemas.ts';
import { AuditQuery, AuditVerification, AuditVerificationQuery } from './schemas.ts';

/** The audit capability's routes. */
export const auditRoutes = [
  {
    method: 'GET',
    path: '/v1/audit-events',
    function: 'audit-events',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'listAuditEvents',
    summary:
      "The account's audit trail, newest first: every call made with its keys and every operator action on it",
    tags: ['Account'],
    query: AuditQuery,
    responses: {
      200: {
        description: 'A page of audit events (or its export)',
        schema: AuditEventList,
        text: ['text/csv', 'application/x-ndjson'],
        headers: ['X-Next-Cursor'],
      },
      ...problems(401, 403, 421, 422, 429, 503),
    },
  },
  {
    method: 'GET',
    path: '/v1/audit-events/verification',
    function: 'audit-events',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'verifyAuditTrail',
    summary: "Recomputes the trail's hash chain and says whether it is intact, and where not",
    tags: ['Account'],
    query: AuditVerificationQuery,
    responses: {
      200: { description: 'The verification', schema: AuditVerification },
      ...problems(401, 403, 421, 422, 429, 503),
    },
  },
] as const satisfies readonly Route[];
