import * as z from 'zod';
import { Replies } from '#functions/recipients/schemas.ts';
import { decisionProblem } from '#functions/sender-ids/use-cases/sender-ids.ts';
import { MAX_REPORT_DAYS } from '#functions/usage/use-cases/usage-reports.ts';
import { SCOPES } from '#layers/core/api-keys.ts';
import type { FieldIssue as Issue } from '#layers/core/errors.ts';
import { ID_PATTERN } from '#layers/core/ids.ts';
import {
  auditFilters,
  Controls,
  Day,
  Jurisdiction,
  onceValid,
  Remains,
  Residency,
  RetentionPolicyInput,
  RetentionPolicyPatch,
  SenderId,
  SenderIdentityInput,
  UsageStatus,
  withinDays,
} from '#layers/http/schemas.ts';

// Admin

export const CloseTenantRequest = z
  .strictObject({
    confirm: z
      .string()
      .meta({ description: 'The tenant id again, to confirm an action that cannot be undone.' }),
  })
  .meta({ id: 'CloseTenantRequest' });

/**
 * Closing cannot be undone: `confirm` must repeat the tenant id of the path (judged once the path
 * is valid and `confirm` is text, whatever else the body gets wrong).
 */
export function confirmsTenant(valid: { params?: { tenantId: string } }, raw: { body: unknown }): Issue[] {
  const confirm = (raw.body as { confirm?: unknown } | null | undefined)?.confirm;
  return valid.params && typeof confirm === 'string' && confirm !== valid.params.tenantId
    ? [{ pointer: '/confirm', detail: "'confirm' must repeat the tenant id: closing cannot be undone" }]
    : [];
}

export const ClosedTenant = z
  .strictObject({
    tenantId: z.string(),
    status: z.literal('closed'),
    closedAt: z.iso.datetime(),
    apiKeysRevoked: z.int(),
    tenantItemsRemoved: z.int().meta({
      description:
        'Items removed from the tenants table: API keys and their look-ups, sender IDs and identity details, webhook endpoints, counters, the rate bucket, Idempotency-Key claims.',
    }),
    jurisdictions: z.array(
      z.strictObject({
        jurisdiction: Jurisdiction,
        keyId: z.string().nullable(),
        keyDeletionDate: z.iso.datetime().nullable(),
        itemsRemoved: z.int(),
        analyticsCellsScrubbed: z.int().meta({
          description:
            "Gateway-wide analytics cells (day and country) of the retention window that held the tenant's id, for their anonymity threshold: the id removed, the anonymous counts kept.",
        }),
      }),
    ),
    closeAlsoAt: z
      .array(z.strictObject({ jurisdiction: Jurisdiction, endpoint: z.string().nullable() }))
      .meta({
        description:
          "Each region's admin endpoint closes its own jurisdiction's items and key: the jurisdictions still to close, at their endpoint (the admin CLI closes both).",
      }),
    backups: Remains,
    recordsKept: Remains,
  })
  .meta({ id: 'ClosedTenant' });

export const UpdateTenantPolicyRequest = z
  .strictObject({ retention: RetentionPolicyPatch.optional(), residency: Residency.optional() })
  .meta({ id: 'UpdateTenantPolicyRequest' });

export const CreateTenantRequest = z
  .strictObject({
    displayName: z.string().trim().min(1).max(100),
    legalName: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .meta({ description: 'Legal identity, told to recipients who ask WHO.' }),
    contactEmail: z.email(),
    homeJurisdiction: Jurisdiction,
    retention: RetentionPolicyInput.optional(),
    residency: Residency.optional(),
  })
  .meta({ id: 'CreateTenantRequest' });

export const Tenant = z
  .strictObject({
    id: z.string(),
    displayName: z.string(),
    legalName: z.string(),
    contactEmail: z
      .string()
      .optional()
      .meta({ description: 'Absent once the account is closed: the address may name a person.' }),
    homeJurisdiction: Jurisdiction,
    status: z.enum(['active', 'closed']),
    createdAt: z.iso.datetime(),
    retention: z.strictObject({ bodyDays: z.int(), metadataDays: z.int() }),
    residency: Residency,
    closedAt: z.iso.datetime().optional(),
    recordsKeptUntil: z.iso.datetime().optional(),
    controls: z.lazy(() => Controls).optional(),
    replies: z.lazy(() => Replies).optional(),
  })
  .meta({ id: 'Tenant' });

export const TenantList = z.strictObject({ data: z.array(Tenant) }).meta({ id: 'TenantList' });

export const TenantIdParams = z.object({
  tenantId: z.string().regex(ID_PATTERN.tenant, 'a tenant id: ten_ and 26 letters and digits'),
});

export const KeyIdParams = TenantIdParams.extend({
  keyId: z.string().regex(ID_PATTERN.apiKey, 'an API key id: key_ and 26 letters and digits'),
});

export const CreateKeyRequest = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    mode: z
      .enum(['live', 'test'])
      .default('live')
      .meta({ description: 'Test keys only ever reach the sandbox carrier.' }),
    scopes: z.array(z.enum(SCOPES)).min(1).default(['send', 'read']),
  })
  .meta({ id: 'CreateKeyRequest' });

export const RotateKeyRequest = z.strictObject({
  graceSeconds: z
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(0)
    .meta({ description: 'How long the old key keeps working, to let clients switch.' }),
});

export const ApiKey = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    mode: z.enum(['live', 'test']),
    scopes: z.array(z.enum(SCOPES)),
    hint: z.string(),
    status: z.enum(['active', 'revoked']),
    createdAt: z.iso.datetime(),
    notAfter: z.iso.datetime().nullable(),
    replacedBy: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

export const IssuedApiKey = ApiKey.extend({
  secret: z.string().meta({ description: 'The key itself. Shown once: only its HMAC is stored.' }),
}).meta({ id: 'IssuedApiKey' });

export const ApiKeyList = z.strictObject({ data: z.array(ApiKey) }).meta({ id: 'ApiKeyList' });

export const RotatedApiKey = z
  .strictObject({ previous: ApiKey, key: IssuedApiKey })
  .meta({ id: 'RotatedApiKey' });

export const UpdateControlsRequest = Controls.partial().strict().meta({ id: 'UpdateControlsRequest' });

export const SenderIdReview = SenderId.extend({
  identity: SenderIdentityInput.nullable().meta({ description: 'Null once purged.' }),
}).meta({ id: 'SenderIdReview' });

export const SenderIdParams = TenantIdParams.extend({
  senderId: z
    .string()
    .regex(/^sid_[0-9A-HJKMNP-TV-Z]{26}$/, 'a sender ID id: sid_ and 26 letters and digits'),
});

export const SenderIdDecision = z
  .strictObject({
    decision: z.enum(['approved', 'rejected']),
    reason: z.string().min(1).max(500).optional().meta({ description: 'Required to reject.' }),
  })
  .check(
    z.superRefine(
      (d: { decision: 'approved' | 'rejected'; reason?: string | undefined }, ctx) => {
        const missing = decisionProblem(d);
        if (missing) ctx.addIssue({ code: 'custom', path: ['reason'], message: missing });
      },
      onceValid('decision', 'reason'),
    ),
  )
  .meta({ id: 'SenderIdDecision' });

export const CarrierToken = z
  .strictObject({ token: z.string().meta({ description: 'Shown once; only its HMAC is stored.' }) })
  .meta({ id: 'CarrierToken' });

export const AdminAuditQuery = z.strictObject({
  ...auditFilters,
  tenantId: z
    .string()
    .regex(ID_PATTERN.tenant, 'a tenant id: ten_ and 26 letters and digits')
    .optional()
    .meta({ description: "A tenant's trail; without it, the operator's own actions on no tenant." }),
});

export const AnalyticsQuery = z
  .strictObject({
    from: Day.optional(),
    to: Day.optional().meta({ description: 'Inclusive; at most 92 days after from.' }),
    k: z.coerce
      .number()
      .int()
      .min(2)
      .max(10_000)
      .default(10)
      .meta({ description: 'Cells with fewer messages are suppressed (as are cells from a single tenant).' }),
  })
  .check(withinDays(MAX_REPORT_DAYS.aggregates));

export const AnalyticsReport = z
  .strictObject({
    from: z.iso.date(),
    to: z.iso.date(),
    k: z.int(),
    jurisdictions: z.array(Jurisdiction).meta({
      description:
        "The regions counted: the EU endpoint's answer covers both, the global endpoint's the global region only.",
    }),
    data: z.array(
      z.strictObject({
        day: z.iso.date(),
        country: z.string(),
        status: UsageStatus,
        messages: z.int(),
        segments: z.int(),
      }),
    ),
    suppressedCells: z.int(),
  })
  .meta({ id: 'AnalyticsReport' });
