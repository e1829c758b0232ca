import * as z from 'zod';
import { periodProblem } from '#layers/core/usage.ts';
import { CURSORS, type CursorFormat } from '../core/cursors.ts';
import { DEFAULT_RETENTION, MAX_RETENTION_DAYS } from '../core/model.ts';
import { checkRecipient } from '../core/phone.ts';

/** Request and response schemas: the source of the handlers' types and of the OpenAPI document. */

/*
 * A request's fields are checked here in full, the core's checks of numbers, sender IDs, URLs,
 * dates and cursors included, so that a 422 names every invalid field at once: zod runs a field's
 * refinement whatever the other fields get wrong, and a check across fields once those fields are
 * valid (`onceValid`), where it would otherwise skip it. The core checks again where it uses a value.
 */

/** A core check (why a value cannot be taken, or undefined) as a refinement of its field. */
export const checkedBy =
  (problem: (value: string) => string | undefined) =>
  (value: string, ctx: z.RefinementCtx<string>): void => {
    const reason = problem(value);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  };

/** Runs a check across fields once those fields are valid, whatever else in the object is wrong. */
export const onceValid = (...fields: string[]) => ({
  when: (payload: z.core.ParsePayload) =>
    !payload.issues.some((issue) => fields.includes(String(issue.path?.[0]))),
});

export const phoneProblem = (value: string) => {
  const check = checkRecipient(value);
  return check.ok ? undefined : check.reason;
};

/** A page cursor this API gave out. */
export const cursorOf = (format: CursorFormat<unknown>) =>
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

export const MessageError = z.strictObject({ code: z.string(), message: z.string() });

/** What a message shows after its sender, readable or not (stored in clear). */
export const messageMeta = {
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

export const Remains = z.strictObject({ what: z.string(), until: z.iso.datetime().nullable() });

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

export const Phone = z
  .string()
  .min(1)
  .max(32)
  .superRefine(checkedBy(phoneProblem))
  .meta({ description: 'E.164 number.', example: '+12025550100' });
export const CountryCode = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code such as DE');

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
export const UnreadableOptOut = z
  .strictObject({
    unreadable: z.literal(true),
    scope: z.enum(['all', 'promotional']),
    source: z.string(),
    at: z.iso.datetime(),
  })
  .meta({ id: 'UnreadableOptOut', description: `An opt-out without its number. ${UNREADABLE}` });

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
export const LedgerLine = z.union([Consent, UnreadableConsent]);

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
export const ListedReply = z.union([InboundMessage, UnreadableInboundMessage]);

export const SenderIdentityInput = z.strictObject({
  companyName: z.string().min(1).max(200),
  registrationNumber: z.string().min(1).max(100),
  address: z.string().min(1).max(500),
  contactName: z.string().min(1).max(200),
  contactEmail: z.email(),
  useCase: z.string().min(1).max(1000),
});

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

export const auditFilters = {
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

// Usage reports and anonymised analytics

export const Day = z.iso.date().meta({ example: '2026-11-01' });
export const UsageStatus = z.enum(['sent', 'delivered', 'undeliverable', 'failed', 'quarantined']);

/** A report's days (from and to, defaulting to this month so far) fit within `maxDays`. */
export const withinDays = (maxDays: number) =>
  z.superRefine(
    (q: { from?: string | undefined; to?: string | undefined }, ctx) => {
      const problem = periodProblem(new Date(), q, maxDays);
      if (problem) ctx.addIssue({ code: 'custom', path: [problem.parameter], message: problem.reason });
    },
    onceValid('from', 'to'),
  );
