import * as z from 'zod';
import { IDENTIFY_NEEDS, identifiesAMessage } from '#functions/public-rights/use-cases/public-rights.ts';
import { consentTimeProblem } from '#functions/recipients/use-cases/recipient-lists.ts';
import { decisionProblem } from '#functions/sender-ids/use-cases/sender-ids.ts';
import { MAX_REPORT_DAYS, periodProblem } from '#functions/usage/use-cases/usage-reports.ts';
import { webhookUrlProblem } from '#functions/webhooks/model.ts';
import { SCOPES } from '../core/api-keys.ts';
import { CURSORS, type CursorFormat } from '../core/cursors.ts';
import type { FieldIssue as Issue } from '../core/errors.ts';
import { ID_PATTERN } from '../core/ids.ts';
import { builtInReading, type KeywordAction } from '../core/keywords.ts';
import { DEFAULT_RETENTION, MAX_RETENTION_DAYS } from '../core/model.ts';
import { checkRecipient } from '../core/phone.ts';
import { checkSender } from '../core/sender.ts';
import { isWellFormed, LONE_SURROGATE_REASON } from '../core/text.ts';

/** Request and response schemas: the source of the handlers' types and of the OpenAPI document. */

/*
 * A request's fields are checked here in full, the core's checks of numbers, sender IDs, URLs,
 * dates and cursors included, so that a 422 names every invalid field at once: zod runs a field's
 * refinement whatever the other fields get wrong, and a check across fields once those fields are
 * valid (`onceValid`), where it would otherwise skip it. The core checks again where it uses a value.
 */

/** A core check (why a value cannot be taken, or undefined) as a refinement of its field. */
const checkedBy =
  (problem: (value: string) => string | undefined) =>
  (value: string, ctx: z.RefinementCtx<string>): void => {
    const reason = problem(value);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  };

/** Runs a check across fields once those fields are valid, whatever else in the object is wrong. */
const onceValid = (...fields: string[]) => ({
  when: (payload: z.core.ParsePayload) =>
    !payload.issues.some((issue) => fields.includes(String(issue.path?.[0]))),
});

const phoneProblem = (value: string) => {
  const check = checkRecipient(value);
  return check.ok ? undefined : check.reason;
};

/** A page cursor this API gave out. */
const cursorOf = (format: CursorFormat<unknown>) =>
  z
    .string()
    .max(200)
    .superRefine(
      checkedBy((cursor) =>
        format.read(cursor) === undefined ? 'is not a cursor this API returned' : undefined,
      ),
    );

export const Category = z.enum(['transactional', 'promotional']).meta({
  description:
    "Promotional messages need the recipient's live consent (POST /v1/consents) and honour promotional opt-outs. Defaults to transactional.",
});
export const MessageStatus = z
  .enum(['queued', 'sent', 'delivered', 'failed', 'undeliverable', 'quarantined'])
  .meta({
    description: 'quarantined: held by a content rule (see error), never sent.',
  });
export const Jurisdiction = z.enum(['global', 'eu']);

export const SendMessageRequest = z
  .strictObject({
    to: z.string().min(1).max(32).meta({ description: 'Recipient in E.164 form.', example: '+12025550100' }),
    from: z.string().min(1).max(32).meta({
      description:
        'Originator: an E.164 number, a 3-8 digit short code, or an alphanumeric sender ID (1-11 characters).',
      example: 'Acme',
    }),
    // A lone surrogate would be stored and sent as U+FFFD: refused here, whatever else is wrong.
    body: z.string().max(1600).refine(isWellFormed, LONE_SURROGATE_REASON).meta({
      description:
        'Text; GSM-7 or UCS-2 is chosen automatically. At most 10 segments (1,530 GSM-7 or 670 UCS-2 characters).',
      example: 'Your code is 123456',
    }),
    reference: z
      .string()
      .min(1)
      .max(128)
      .refine(isWellFormed, LONE_SURROGATE_REASON)
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

export const MessageError = z.strictObject({ code: z.string(), message: z.string() });

/** What a message shows after its sender, readable or not (stored in clear). */
const messageMeta = {
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
};

export const Message = z
  .strictObject({
    id: z.string(),
    status: MessageStatus,
    to: z.string(),
    from: z.string(),
    body: z.string().nullable().meta({
      description: "Null once removed: by the tenant's body retention after the final status, or on request.",
    }),
    reference: z.string().nullable(),
    ...messageMeta,
  })
  .meta({ id: 'Message' });

const UNREADABLE =
  "Its sealed content does not open under this account's key (damaged, or not this account's): listed with what is stored in clear only.";

export const UnreadableMessage = z
  .strictObject({
    id: z.string(),
    unreadable: z.literal(true),
    status: MessageStatus,
    from: z.string(),
    ...messageMeta,
  })
  .meta({
    id: 'UnreadableMessage',
    description: `A message without its recipient, reference and body. ${UNREADABLE}`,
  });

/** A message in a list or export: readable, or marked `unreadable: true`. */
export const ListedMessage = z.union([Message, UnreadableMessage]);

export const SendMessageResponse = z.strictObject({ message: Message }).meta({ id: 'SendMessageResponse' });

export const FieldIssue = z.strictObject({
  pointer: z.string().optional().meta({ description: 'JSON Pointer into the request body.' }),
  parameter: z.string().optional(),
  header: z.string().optional(),
  detail: z.string(),
});

export const Problem = z
  .strictObject({
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

export const GatewayMessage = z.strictObject({ message: z.string().meta({ example: 'Unauthorized' }) }).meta({
  id: 'GatewayMessage',
  description:
    "API Gateway's own answer, given before or instead of the gateway's code: not problem details.",
});

export const BatchItemResult = z.union([
  z.strictObject({
    index: z.int(),
    status: z.literal('accepted'),
    message: z.strictObject({
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
  z.strictObject({ index: z.int(), status: z.literal('rejected'), problem: Problem }),
]);

export const SendBatchResponse = z
  .strictObject({ accepted: z.int(), rejected: z.int(), results: z.array(BatchItemResult) })
  .meta({ id: 'SendBatchResponse' });

export const ListMessagesQuery = z.strictObject({
  status: MessageStatus.optional().meta({
    description:
      'Only messages in this status. A filtered page reads at most 1,000 messages, so it may hold fewer than `limit` and still have a `nextCursor`: follow it until it is null.',
  }),
  jurisdiction: Jurisdiction.optional().meta({
    description: "Which jurisdiction's messages to list; defaults to the endpoint's own.",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: cursorOf(CURSORS.messages).optional(),
});

export const MessageList = z
  .strictObject({
    data: z.array(ListedMessage),
    nextCursor: z.string().nullable().meta({ description: 'Null on the last page.' }),
    jurisdiction: Jurisdiction,
  })
  .meta({ id: 'MessageList' });

export const MessageIdParams = z.object({
  id: z.string().regex(ID_PATTERN.message, 'a message id: msg_ and 26 letters and digits'),
});

export const SubjectParams = z.object({
  phone: z
    .string()
    .min(1)
    .max(32)
    .superRefine(checkedBy(phoneProblem))
    .meta({ description: 'The E.164 number, e.g. +4915123456789 (encode + as %2B).' }),
});

export const ErasureQuery = z.strictObject({
  reason: z.enum(['request', 'minor', 'other']).meta({
    description:
      "Why: the person's request, a minor's data, or another ground. Kept with the erasure record, without the number.",
  }),
});

export const SubjectExport = z
  .strictObject({
    subject: z.string(),
    generatedAt: z.iso.datetime(),
    jurisdictions: z.strictObject({
      global: z.lazy(() => SubjectData),
      eu: z.lazy(() => SubjectData),
    }),
  })
  .meta({ id: 'SubjectExport' });

const Remains = z.strictObject({ what: z.string(), until: z.iso.datetime().nullable() });

export const ErasureResult = z
  .strictObject({
    erasureId: z.string(),
    reason: z.enum(['request', 'minor', 'other']),
    erasedAt: z.iso.datetime(),
    removed: z.strictObject({ messages: z.int(), idempotencyRecords: z.int(), consentsAndReplies: z.int() }),
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

const bodyWithinMetadata = {
  message: 'must not exceed metadataDays',
  path: ['bodyDays'],
  ...onceValid('bodyDays', 'metadataDays'),
};

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
  .refine((r) => r.bodyDays <= r.metadataDays, bodyWithinMetadata)
  .meta({ id: 'RetentionPolicy' });

export const RetentionPolicyPatch = z
  .strictObject({
    bodyDays: z.int().min(0).max(MAX_RETENTION_DAYS).optional(),
    metadataDays: z.int().min(1).max(MAX_RETENTION_DAYS).optional(),
  })
  // Both given: checked here; one given: against the stored other one, by the core.
  .refine(
    (r) => r.bodyDays === undefined || r.metadataDays === undefined || r.bodyDays <= r.metadataDays,
    bodyWithinMetadata,
  )
  .meta({ id: 'RetentionPolicyPatch' });

export const Residency = z.enum(['forward', 'strict']).meta({
  description:
    "strict (default): the global endpoint refuses EU/EEA subjects, and reads of EU data, with 421 naming the EU endpoint, so their data never passes through it. forward (an explicit opt-in, a cross-border transfer): either region's endpoint accepts any recipient; the global endpoint relays an EU/EEA subject's send to the EU region's API as it came (a batch's EU items as one batch), which stores it only in the EU region.",
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
  .strictObject({
    id: z.string(),
    displayName: z.string(),
    legalName: z.string(),
    contactEmail: z.string(),
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
  z.object({
    authenticated: z.literal(false),
    reason: z.string(),
    // The key could not be looked up (a dependency failed): the route answers 503, not 401.
    unavailable: z.boolean().optional(),
    retryAfterSeconds: z.number().optional(),
  }),
]);
export type AuthorizerContext = z.infer<typeof AuthorizerContext>;

// Recipient rights and abuse controls

const Phone = z
  .string()
  .min(1)
  .max(32)
  .superRefine(checkedBy(phoneProblem))
  .meta({ description: 'E.164 number.', example: '+12025550100' });
const CountryCode = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code such as DE');

export const Controls = z
  .strictObject({
    allowedCountries: z.array(CountryCode).max(250).meta({ description: 'Empty: every country.' }),
    flood: z.strictObject({
      identicalPerHour: z.int().min(1).max(10_000),
      perHour: z.int().min(1).max(100_000),
    }),
    rateLimit: z.strictObject({
      perMinute: z.number().min(0.01).max(1_000_000),
      burst: z.int().min(1).max(100_000),
    }),
    monthlySegmentCap: z.int().min(0).meta({ description: '0: no cap.' }),
    denyPhrases: z.array(z.string().min(1).max(200)).max(500).meta({
      description: 'Case-insensitive plain phrases (not regular expressions) that quarantine a message.',
    }),
    denyUrlShorteners: z.boolean(),
  })
  .meta({ id: 'Controls' });

export const UpdateControlsRequest = Controls.partial().strict().meta({ id: 'UpdateControlsRequest' });

const KeywordList = z.array(z.string().trim().min(1).max(40)).max(20);

export const Replies = z
  .strictObject({
    helpText: z.string().min(1).max(300).meta({ description: 'The answer to HELP and INFO.' }),
    keywords: z.strictObject({ optOut: KeywordList, optIn: KeywordList, help: KeywordList }).meta({
      description: 'Keywords in other languages, added to the built-in English ones (e.g. ARRET, ALTO).',
    }),
    referenceCodes: z.boolean().meta({
      description: 'Append "Ref: XXXXXX" to each message so a recipient can ask who sent it.',
    }),
  })
  .meta({ id: 'Replies' });

const KEYWORD_LISTS = { optOut: 'opt_out', optIn: 'opt_in', help: 'help' } as const satisfies Record<
  string,
  KeywordAction
>;

export const UpdateRepliesRequest = Replies.partial()
  .strict()
  .check(
    z.superRefine((replies: Partial<z.infer<typeof Replies>>, ctx) => {
      // A built-in word keeps its meaning: compared as replies are read (compatibility forms,
      // accents and case folded), so "ＳＴＯＰ" cannot opt in nor "ｂｌｏｃｋ" ask for help.
      for (const [list, action] of Object.entries(KEYWORD_LISTS)) {
        replies.keywords?.[list as keyof typeof KEYWORD_LISTS].forEach((word, i) => {
          const builtIn = builtInReading(word);
          if (builtIn && builtIn.action !== action) {
            ctx.addIssue({
              code: 'custom',
              path: ['keywords', list, i],
              message: `reads as the built-in keyword ${builtIn.keyword}, which always means ${builtIn.action}`,
            });
          }
        });
      }
    }, onceValid('keywords')),
  )
  .meta({
    id: 'UpdateRepliesRequest',
    description:
      'A keyword that reads as a built-in one (STOP, START, HELP, WHO, BLOCK, ...) with another action is refused.',
  });

export const PhoneParams = z.object({ phone: Phone });

export const OptOut = z
  .strictObject({
    phone: z.string(),
    scope: z.enum(['all', 'promotional']),
    source: z.string().meta({ description: 'keyword:<WORD> for a reply, api for this API.' }),
    at: z.iso.datetime(),
  })
  .meta({ id: 'OptOut' });
export const UnreadableOptOut = z
  .strictObject({
    unreadable: z.literal(true),
    scope: z.enum(['all', 'promotional']),
    source: z.string(),
    at: z.iso.datetime(),
  })
  .meta({ id: 'UnreadableOptOut', description: `An opt-out without its number. ${UNREADABLE}` });
export const OptOutList = z
  .strictObject({ data: z.array(z.union([OptOut, UnreadableOptOut])) })
  .meta({ id: 'OptOutList' });
export const CreateOptOutRequest = z
  .strictObject({ phone: Phone, scope: z.enum(['all', 'promotional']).default('all') })
  .meta({ id: 'CreateOptOutRequest' });
export const RemovedOptOut = z.strictObject({ removed: z.boolean() }).meta({ id: 'RemovedOptOut' });

export const CreateConsentRequest = z
  .strictObject({
    phone: Phone,
    source: z.string().min(1).max(200).meta({ description: 'Where the person agreed, e.g. "signup form".' }),
    disclosureVersion: z
      .string()
      .min(1)
      .max(100)
      .meta({ description: 'The version of the text the person saw.' }),
    occurredAt: z.iso
      .datetime()
      .superRefine(checkedBy((at) => consentTimeProblem(at, new Date())))
      .optional()
      .meta({ description: 'When they agreed; defaults to now.' }),
    ip: z
      .union([z.ipv4(), z.ipv6()])
      .optional()
      .meta({ description: "The person's IP address; defaults to the caller's." }),
  })
  .meta({ id: 'CreateConsentRequest' });

export const Consent = z
  .strictObject({
    id: z.string(),
    phone: z.string(),
    kind: z.enum(['granted', 'withdrawn']),
    source: z.string(),
    at: z.iso.datetime(),
    ip: z.string().optional(),
    disclosureVersion: z.string().optional(),
  })
  .meta({ id: 'Consent' });
export const UnreadableConsent = z
  .strictObject({
    id: z.string(),
    unreadable: z.literal(true),
    kind: z.enum(['granted', 'withdrawn']),
    source: z.string(),
    at: z.iso.datetime(),
    disclosureVersion: z.string().optional(),
  })
  .meta({ id: 'UnreadableConsent', description: `A consent without its number and IP. ${UNREADABLE}` });
const LedgerLine = z.union([Consent, UnreadableConsent]);
export const ConsentLedger = z
  .strictObject({ phone: z.string(), live: z.boolean(), data: z.array(LedgerLine) })
  .meta({ id: 'ConsentLedger' });

export const InboundMessage = z
  .strictObject({
    id: z.string(),
    from: z.string(),
    to: z.string(),
    body: z.string().nullable().meta({ description: "Null once the tenant's body retention has passed." }),
    keyword: z.string().nullable(),
    action: z.enum(['opt_out', 'opt_in', 'help', 'who', 'block_all']).nullable(),
    receivedAt: z.iso.datetime(),
  })
  .meta({ id: 'InboundMessage' });
export const UnreadableInboundMessage = z
  .strictObject({
    id: z.string(),
    unreadable: z.literal(true),
    keyword: z.string().nullable(),
    action: z.enum(['opt_out', 'opt_in', 'help', 'who', 'block_all']).nullable(),
    receivedAt: z.iso.datetime(),
  })
  .meta({
    id: 'UnreadableInboundMessage',
    description: `A reply without its numbers and body. ${UNREADABLE}`,
  });
const ListedReply = z.union([InboundMessage, UnreadableInboundMessage]);
export const InboundList = z
  .strictObject({ data: z.array(ListedReply), nextCursor: z.string().nullable(), jurisdiction: Jurisdiction })
  .meta({ id: 'InboundList' });
export const InboundQuery = z.strictObject({
  jurisdiction: Jurisdiction.optional().meta({
    description: "Replies are kept in the person's jurisdiction; defaults to the endpoint's own.",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: cursorOf(CURSORS.inbound).optional(),
});

const SenderIdentityInput = z.strictObject({
  companyName: z.string().min(1).max(200),
  registrationNumber: z.string().min(1).max(100),
  address: z.string().min(1).max(500),
  contactName: z.string().min(1).max(200),
  contactEmail: z.email(),
  useCase: z.string().min(1).max(1000),
});

export const SenderIdApplication = z
  .strictObject({
    value: z
      .string()
      .min(1)
      .max(32)
      .superRefine(
        checkedBy((value) => {
          const check = checkSender(value);
          return check.ok ? undefined : check.reason;
        }),
      ),
    countries: z.array(CountryCode).max(250).default([]).meta({ description: 'Empty: every country.' }),
    identity: SenderIdentityInput.meta({
      description: 'The business behind the sender ID; encrypted, and purged a set time after the decision.',
    }),
  })
  .meta({ id: 'SenderIdApplication' });

export const SenderId = z
  .strictObject({
    id: z.string(),
    tenantId: z.string(),
    value: z.string(),
    type: z.enum(['phone_number', 'short_code', 'alphanumeric']),
    countries: z.array(z.string()),
    status: z.enum(['pending', 'approved', 'rejected']),
    appliedAt: z.iso.datetime(),
    decidedAt: z.iso.datetime().optional(),
    reason: z.string().optional(),
    identityPurgeAt: z.iso.datetime().optional(),
  })
  .meta({ id: 'SenderId' });
export const SenderIdList = z.strictObject({ data: z.array(SenderId) }).meta({ id: 'SenderIdList' });
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

export const StartVerificationRequest = z
  .strictObject({
    phone: Phone,
    purpose: z.enum(['block', 'unblock', 'identify']).meta({
      description:
        'block: stop every message through this gateway; unblock: undo that; identify: learn who sent a message.',
    }),
    reference: z
      .string()
      .trim()
      .min(4)
      .max(12)
      .optional()
      .meta({ description: 'identify: the "Ref:" code in the message.' }),
    sentAt: z.iso
      .datetime()
      .optional()
      .meta({ description: 'identify, without a reference: about when it arrived.' }),
    senderId: z
      .string()
      .min(1)
      .max(32)
      .optional()
      .meta({ description: 'identify, without a reference: the sender shown.' }),
  })
  .refine(identifiesAMessage, {
    message: IDENTIFY_NEEDS,
    path: ['reference'],
    ...onceValid('purpose', 'reference', 'sentAt', 'senderId'),
  })
  .meta({ id: 'StartVerificationRequest' });
export const VerificationStarted = z
  .strictObject({ verificationId: z.string(), expiresAt: z.iso.datetime() })
  .meta({ id: 'VerificationStarted' });
export const VerificationParams = z.object({
  id: z.string().regex(/^vrf_[0-9A-HJKMNP-TV-Z]{26}$/, 'a verification id: vrf_ and 26 letters and digits'),
});
export const ConfirmVerificationRequest = z
  .strictObject({ code: z.string().regex(/^\d{6}$/, 'must be the 6 digits sent by SMS') })
  .meta({ id: 'ConfirmVerificationRequest' });
export const VerificationResult = z
  .union([
    z.strictObject({ purpose: z.literal('block'), blocked: z.literal(true), detail: z.string() }),
    z.strictObject({ purpose: z.literal('unblock'), blocked: z.literal(false), detail: z.string() }),
    z.strictObject({
      purpose: z.literal('identify'),
      senders: z.array(
        z.strictObject({
          legalName: z.string(),
          contactEmail: z.string(),
          senderId: z.string(),
          sentAt: z.iso.datetime(),
        }),
      ),
    }),
  ])
  .meta({ id: 'VerificationResult' });

export const CarrierInboundRequest = z
  .strictObject({
    // Not refused here when it is no valid number: the worker drops such a reply (no one to route it to).
    from: z.string().min(1).max(32).meta({ description: "The person's number.", example: '+12025550100' }),
    to: z.string().min(1).max(32).meta({ description: 'The gateway number or sender ID they replied to.' }),
    body: z.string().max(1600),
    carrierMessageId: z.string().min(1).max(200),
    receivedAt: z.iso.datetime(),
  })
  .meta({ id: 'CarrierInboundRequest' });
export const Accepted = z.strictObject({ accepted: z.literal(true) }).meta({ id: 'Accepted' });
export const CarrierToken = z
  .strictObject({ token: z.string().meta({ description: 'Shown once; only its HMAC is stored.' }) })
  .meta({ id: 'CarrierToken' });

const SubjectData = z.strictObject({
  messages: z.array(ListedMessage),
  optOut: OptOut.nullable(),
  consents: z.array(LedgerLine),
  replies: z.array(ListedReply),
});

// Operating the gateway: audit trail

export const ExportFormat = z.enum(['json', 'csv', 'ndjson']).default('json').meta({
  description: 'json: a page object; csv or ndjson: the page as text, the next cursor in `X-Next-Cursor`.',
});

export const AuditEvent = z
  .strictObject({
    seq: z.int().meta({ description: "Position in the tenant's chain in this jurisdiction, from 1." }),
    id: z.string(),
    tenantId: z.string().meta({ description: '`operator` for operator actions on no tenant.' }),
    at: z.iso.datetime(),
    actor: z.union([
      z.strictObject({ type: z.literal('api_key'), keyId: z.string() }),
      z.strictObject({ type: z.literal('operator'), principal: z.string() }),
    ]),
    action: z.string().meta({ description: "The operation's id, e.g. sendMessage." }),
    route: z.string().meta({ example: 'POST /v1/messages' }),
    targets: z.array(z.string()).meta({ description: 'Ids named or created; never a phone number.' }),
    ip: z.string(),
    userAgent: z.string(),
    outcome: z.enum(['success', 'failure']),
    status: z.int(),
    requestId: z.string().optional(),
    jurisdiction: Jurisdiction,
    prevHash: z.string(),
    hash: z.string().meta({
      description: 'SHA-256 (hex) of prevHash, a newline, and the canonical JSON of the event without hash.',
    }),
  })
  .meta({ id: 'AuditEvent' });
export const AuditEventList = z
  .strictObject({ data: z.array(AuditEvent), nextCursor: z.string().nullable(), jurisdiction: Jurisdiction })
  .meta({ id: 'AuditEventList' });

const auditFilters = {
  jurisdiction: Jurisdiction.optional().meta({
    description:
      "Each jurisdiction keeps the trail of the calls its endpoint took; defaults to the endpoint's own.",
  }),
  action: z.string().max(64).optional().meta({ example: 'sendMessage' }),
  keyId: z.string().max(64).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  from: z.iso.datetime().optional().meta({ description: 'Inclusive.' }),
  to: z.iso.datetime().optional().meta({ description: 'Exclusive.' }),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: cursorOf(CURSORS.auditEvents).optional(),
  format: ExportFormat,
};
export const AuditQuery = z.strictObject(auditFilters);
export const AdminAuditQuery = z.strictObject({
  ...auditFilters,
  tenantId: z
    .string()
    .regex(ID_PATTERN.tenant, 'a tenant id: ten_ and 26 letters and digits')
    .optional()
    .meta({ description: "A tenant's trail; without it, the operator's own actions on no tenant." }),
});
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

// Usage reports and anonymised analytics

const Day = z.iso.date().meta({ example: '2026-11-01' });
const UsageStatus = z.enum(['sent', 'delivered', 'undeliverable', 'failed', 'quarantined']);

/** A report's days (from and to, defaulting to this month so far) fit within `maxDays`. */
const withinDays = (maxDays: number) =>
  z.superRefine(
    (q: { from?: string | undefined; to?: string | undefined }, ctx) => {
      const problem = periodProblem(new Date(), q, maxDays);
      if (problem) ctx.addIssue({ code: 'custom', path: [problem.parameter], message: problem.reason });
    },
    onceValid('from', 'to'),
  );

export const UsageQuery = z
  .strictObject({
    from: Day.optional().meta({
      description: 'First day (UTC), inclusive; defaults to the first of this month.',
    }),
    to: Day.optional().meta({
      description: 'Last day (UTC), inclusive; defaults to today. At most 366 days.',
    }),
    groupBy: z
      .string()
      .regex(/^((day|country)(,(day|country))?)?$/, "'day', 'country', 'day,country' or empty")
      .default('day,country')
      .transform((v) => (v === '' ? [] : [...new Set(v.split(','))]) as ('day' | 'country')[])
      .meta({
        description: 'Rows are always per key mode and status; add day, country, both (default) or neither.',
      }),
    mode: z.enum(['live', 'test']).optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .check(withinDays(MAX_REPORT_DAYS.tenant));

const StatusTotal = z.strictObject({ messages: z.int(), segments: z.int() });
export const UsageReport = z
  .strictObject({
    from: z.iso.date(),
    to: z.iso.date(),
    groupBy: z.array(z.enum(['day', 'country'])),
    jurisdictions: z.array(Jurisdiction).meta({
      description:
        "The regions' counters the report covers: both, but for a strict-residency tenant at the global endpoint, which counts the global region only (it may not read the EU's; the EU endpoint reports both).",
    }),
    currency: z.literal('USD'),
    data: z.array(
      z.strictObject({
        day: z.iso.date().optional(),
        country: z.string().optional().meta({ description: 'ISO 3166 alpha-2; ZZ when unknown.' }),
        mode: z.enum(['live', 'test']),
        status: UsageStatus.meta({
          description:
            'Messages that reached this status in the period: sent (handed to the carrier), then delivered or undeliverable; failed; quarantined.',
        }),
        messages: z.int(),
        segments: z.int(),
        estimatedCostUsd: z.number().meta({
          description:
            'Segments handed to the carrier on live keys times the list price of the country; an estimate.',
        }),
      }),
    ),
    totals: z.strictObject({
      estimatedCostUsd: z.number(),
      sent: StatusTotal,
      delivered: StatusTotal,
      undeliverable: StatusTotal,
      failed: StatusTotal,
      quarantined: StatusTotal,
    }),
  })
  .meta({ id: 'UsageReport' });

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

// Webhooks

const WebhookEventType = z.enum(['message.status', 'message.inbound']);
/**
 * A new endpoint. `allowLoopback` (WEBHOOK_ALLOW_LOOPBACK: the local runtime and tests only) also
 * takes http to this machine; the document shows the schema AWS serves, without it.
 */
export const webhookRequest = (options: { allowLoopback: boolean }) =>
  z.strictObject({
    url: z
      .string()
      .max(2048)
      .superRefine(checkedBy((url) => webhookUrlProblem(url, options)))
      .meta({
        description: 'https only; must resolve to a public address.',
        example: 'https://hooks.example.com/sms',
      }),
    events: z.array(WebhookEventType).min(1).max(2),
    description: z.string().max(200).optional(),
  });
export const CreateWebhookRequest = webhookRequest({ allowLoopback: false }).meta({
  id: 'CreateWebhookRequest',
});
export const Webhook = z
  .strictObject({
    id: z.string(),
    url: z.string(),
    events: z.array(WebhookEventType),
    description: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Webhook' });
export const WebhookWithSecret = Webhook.extend({
  secret: z.string().meta({
    description: 'whsec_...: shown once. Verify deliveries with any Standard Webhooks library.',
  }),
}).meta({ id: 'WebhookWithSecret' });
export const RotatedWebhookSecret = WebhookWithSecret.extend({
  previousSecretsValidUntil: z.iso.datetime().meta({
    description: 'Until then deliveries carry a signature by the previous secret too.',
  }),
}).meta({ id: 'RotatedWebhookSecret' });
export const WebhookList = z.strictObject({ data: z.array(Webhook) }).meta({ id: 'WebhookList' });
export const WebhookIdParams = z.object({
  webhookId: z.string().regex(ID_PATTERN.webhook, 'a webhook endpoint id: whk_ and 26 letters and digits'),
});
export const RotateWebhookSecretRequest = z
  .strictObject({
    graceSeconds: z
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(86_400)
      .meta({ description: 'How long the previous secret keeps signing too (default one day).' }),
  })
  .meta({ id: 'RotateWebhookSecretRequest' });
export const WebhookDeliveriesQuery = z.strictObject({
  jurisdiction: Jurisdiction.optional().meta({
    description:
      "Deliveries are made and recorded in the jurisdiction of the data they carry; defaults to the endpoint's own.",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: cursorOf(CURSORS.webhookDeliveries).optional(),
});
export const WebhookDeliveryList = z
  .strictObject({
    data: z.array(
      z.strictObject({
        deliveryId: z.string().meta({ description: 'The webhook-id header of every attempt.' }),
        type: WebhookEventType,
        createdAt: z.iso.datetime(),
        status: z.enum(['retrying', 'delivered', 'dead']),
        attempts: z.int(),
        lastAttemptAt: z.iso.datetime(),
        lastStatusCode: z.int().optional(),
        lastError: z.string().optional(),
        nextAttemptAt: z.iso.datetime().optional(),
      }),
    ),
    nextCursor: z.string().nullable(),
    jurisdiction: Jurisdiction,
  })
  .meta({ id: 'WebhookDeliveryList' });
