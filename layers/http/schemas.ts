import * as z from 'zod';
import { SCOPES } from '../core/api-keys.ts';
import { ID_PATTERN } from '../core/ids.ts';

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
    body: z.string(),
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
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(200).optional(),
});

export const MessageList = z
  .object({ data: z.array(Message), nextCursor: z.string().nullable() })
  .meta({ id: 'MessageList' });

export const MessageIdParams = z.object({
  id: z.string().regex(ID_PATTERN.message, 'is not a message id'),
});

// Admin

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
  }),
  z.object({ authenticated: z.literal(false), reason: z.string() }),
]);
export type AuthorizerContext = z.infer<typeof AuthorizerContext>;
