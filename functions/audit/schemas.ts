import * as z from 'zod';
import { auditFilters, Jurisdiction } from '#layers/http/schemas.ts';

export const AuditQuery = z.strictObject(auditFilters);

export const AuditVerificationQuery = z.strictObject({ jurisdiction: auditFilters.jurisdiction });

export const AuditVerification = z
  .strictObject({
    jurisdiction: Jurisdiction,
    intact: z.boolean(),
    checked: z.int(),
    firstSeq: z.int().nullable(),
    lastSeq: z.int().nullable(),
    headSeq: z.int(),
    broken: z
      .strictObject({
        seq: z.int(),
        reason: z.enum(['hash_mismatch', 'link_mismatch', 'gap', 'head_mismatch']),
      })
      .optional(),
  })
  .meta({ id: 'AuditVerification' });
