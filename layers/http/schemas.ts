import * as z from 'zod';
import { SCOPES } from '../core/api-keys.ts';
import { ID_PATTERN } from '../core/ids.ts';
import { DEFAULT_RETENTION, MAX_RETENTION_DAYS } from '../core/model.ts';

/** Request and response schemas: the source of the handlers' types and of the OpenAPI document. */

export const Category = z.enum(['transactional', 'promotional']).meta({
  description: "Promotional messages will need the recipient's recorded opt-in. Defaults to transactional.",
});
export const MessageStatus = z.enum(['queued', 'sent', 'delivered', 'failed', 'undeliverable']);
export const Jurisdiction = z.enum(['global', 'eu']);

export const SendMessageRequest = z
  .strictObject({
    to: z.string().min(1).max(32).meta({ description: 'Recipient in E.164 form.', example: '+12025550100' }),
    from: z.string().min(1).max(32).meta({
      description:
        'Originator: an E.164 number, a 3-8 digit short code, or an alphanumeric sender ID (1-11 characters).',
      example: 'Acme',
    }),
    body: z.string().max(1600).meta({
      description:
        'Text; GSM-7 or UCS-2 is chosen automatically. At most 10 segments (1,530 GSM-7 or 670 UCS-2 characters).',
      example: 'Your code is 123456',
    }),
    reference: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .meta({ description: 'Your own reference, returned as given.' }),
    category: Category.optional(),
  })
  .meta({ id: 'SendMessageRequest' });
export type SendMessageRequest = z.infer<typeof SendMessageRequest>;

export const SendBatchRequest = z
  .strictObject({
    messages: z.array(z.unknown()).min(1).max(1000).meta({
      description: 'Up to 1,000 items, each a SendMessageRequest; each is accepted or refused on its own.',
    }),
  })
  .meta({ id: 'SendBatchRequest' });

export const MessageError = z.object({ code: z.string(), message: z.string() });

export const Message = z
  .object({
    id: z.string(),
    status: MessageStatus,
    to: z.string(),
    from: z.string(),
    body: z.string().nullable().meta({
      description: "Null once removed: by the tenant's body retention after the final status, or on request.",
    }),
    reference: z.string().nullable(),
    category: Category,
    encoding: z.enum(['GSM-7', 'UCS-2']),
    characters: z.int(),
    segments: z.int(),
    jurisdiction: Jurisdiction,
    mode: z.enum(['live', 'test']),
    createdAt: z.iso.datetime(),
    sentAt: z.iso.datetime().nullable(),
    deliveredAt: z.iso.datetime().nullable(),
    failedAt: z.iso.datetime().nullable(),
    error: MessageError.nullable(),
  })
  .meta({ id: 'Message' });

export const SendMessageResponse = z.object({ message: Message }).meta({ id: 'SendMessageResponse' });

export const FieldIssue = z.object({
  pointer: z.string().optional().meta({ description: 'JSON Pointer into the request body.' }),
  parameter: z.string().optional(),
  header: z.string().optional(),
  detail: z.string(),
});

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(FieldIssue).optional(),
    jurisdiction: Jurisdiction.optional().meta({
      description: '421 only: the jurisdiction whose endpoint must receive this request.',
    }),
    endpoint: z.string().optional().meta({ description: "421 only: that jurisdiction's API endpoint." }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

export const BatchItemResult = z.union([
  z.object({
    index: z.int(),
    status: z.literal('accepted'),
    message: z.object({
      id: z.string(),
      status: MessageStatus,
      to: z.string(),
      encoding: z.enum(['GSM-7', 'UCS-2']),
      characters: z.int(),
      segments: z.int(),
      jurisdiction: Jurisdiction,
      createdAt: z.iso.datetime(),
    }),
  }),
  z.object({ index: z.int(), status: z.literal('rejected'), problem: Problem }),
]);

export const SendBatchResponse = z
  .object({ accepted: z.int(), rejected: z.int(), results: z.array(BatchItemResult) })
  .meta({ id: 'SendBatchResponse' });

export const ListMessagesQuery = z.strictObject({
  status: MessageStatus.optional(),
  jurisdiction: Jurisdiction.optional().meta({
    description: "Which jurisdiction's messages to list; defaults to the endpoint's own.",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(200).optional(),
});

export const MessageList = z
  .object({ data: z.array(Message), nextCursor: z.string().nullable(), jurisdiction: Jurisdiction })
  .meta({ id: 'MessageList' });

export const MessageIdParams = z.object({
  id: z.string().regex(ID_PATTERN.message, 'is not a message id'),
});

export const SubjectParams = z.object({
  phone: z
    .string()
    .min(1)
    .max(32)
    .meta({ description: 'The E.164 number, e.g. +4915123456789 (encode + as %2B).' }),
});

export const ErasureQuery = z.strictObject({
  reason: z.enum(['request', 'minor', 'other']).meta({
    description:
      "Why: the person's request, a minor's data, or another ground. Kept with the erasure record, without the number.",
  }),
});

export const SubjectExport = z
  .object({
    subject: z.string(),
    generatedAt: z.iso.datetime(),
    jurisdictions: z.object({
      global: z.object({ messages: z.array(Message) }),
      eu: z.object({ messages: z.array(Message) }),
    }),
  })
  .meta({ id: 'SubjectExport' });

const Remains = z.object({ what: z.string(), until: z.iso.datetime() });

export const ErasureResult = z
  .object({
    erasureId: z.string(),
    reason: z.enum(['request', 'minor', 'other']),
    erasedAt: z.iso.datetime(),
    removed: z.object({ messages: z.int(), idempotencyRecords: z.int() }),
    remains: z.array(Remains),
  })
  .meta({ id: 'ErasureResult' });

// Admin

export const CloseTenantRequest = z
  .strictObject({
    confirm: z
      .string()
      .meta({ description: 'The tenant id again, to confirm an action that cannot be undone.' }),
  })
  .meta({ id: 'CloseTenantRequest' });

export const ClosedTenant = z
  .object({
    tenantId: z.string(),
    status: z.literal('closed'),
    closedAt: z.iso.datetime(),
    apiKeysRevoked: z.int(),
    jurisdictions: z.array(
      z.object({
        jurisdiction: Jurisdiction,
        keyId: z.string().nullable(),
        keyDeletionDate: z.iso.datetime().nullable(),
        itemsRemoved: z.int(),
      }),
    ),
    backups: Remains,
    recordsKept: Remains,
  })
  .meta({ id: 'ClosedTenant' });

export const RetentionPolicyInput = z
  .strictObject({
    bodyDays: z.int().min(0).max(MAX_RETENTION_DAYS).default(DEFAULT_RETENTION.bodyDays).meta({
      description:
        "Days a message body is kept after the message's final status; 0 drops it at once. Default 7.",
    }),
    metadataDays: z.int().min(1).max(MAX_RETENTION_DAYS).default(DEFAULT_RETENTION.metadataDays).meta({
      description: 'Days message metadata (recipient, status, times) is kept after acceptance. Default 90.',
    }),
  })
  .refine((r) => r.bodyDays <= r.metadataDays, {
    message: 'must not exceed metadataDays',
    path: ['bodyDays'],
  })
  .meta({ id: 'RetentionPolicy' });

export const RetentionPolicyPatch = z
  .strictObject({
    bodyDays: z.int().min(0).max(MAX_RETENTION_DAYS).optional(),
    metadataDays: z.int().min(1).max(MAX_RETENTION_DAYS).optional(),
  })
  .meta({ id: 'RetentionPolicyPatch' });

export const Residency = z.enum(['forward', 'strict']).meta({
  description:
    "forward (default): either region's endpoint accepts any recipient and hands EU/EEA subjects' data to the EU region. strict: the global endpoint refuses EU/EEA subjects with 421, so their data never passes through it.",
});

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
  .object({
    id: z.string(),
    displayName: z.string(),
    legalName: z.string(),
    contactEmail: z.string(),
    homeJurisdiction: Jurisdiction,
    status: z.enum(['active', 'closed']),
    createdAt: z.iso.datetime(),
    retention: z.object({ bodyDays: z.int(), metadataDays: z.int() }),
    residency: Residency,
    closedAt: z.iso.datetime().optional(),
    recordsKeptUntil: z.iso.datetime().optional(),
  })
  .meta({ id: 'Tenant' });

export const TenantList = z.object({ data: z.array(Tenant) }).meta({ id: 'TenantList' });

export const TenantIdParams = z.object({
  tenantId: z.string().regex(ID_PATTERN.tenant, 'is not a tenant id'),
});
export const KeyIdParams = TenantIdParams.extend({
  keyId: z.string().regex(ID_PATTERN.apiKey, 'is not an API key id'),
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
  .object({
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

export const ApiKeyList = z.object({ data: z.array(ApiKey) }).meta({ id: 'ApiKeyList' });
export const RotatedApiKey = z.object({ previous: ApiKey, key: IssuedApiKey }).meta({ id: 'RotatedApiKey' });

/** What the authorizer puts in the request context (API Gateway allows only flat primitives). */
export const AuthorizerContext = z.discriminatedUnion('authenticated', [
  z.object({
    authenticated: z.literal(true),
    tenantId: z.string(),
    keyId: z.string(),
    mode: z.enum(['live', 'test']),
    scopes: z.string(),
    // Flat values: an HTTP API authorizer's context holds strings, numbers and booleans only.
    bodyRetentionDays: z.number(),
    metadataRetentionDays: z.number(),
    residency: z.enum(['forward', 'strict']),
  }),
  z.object({ authenticated: z.literal(false), reason: z.string() }),
]);
export type AuthorizerContext = z.infer<typeof AuthorizerContext>;
