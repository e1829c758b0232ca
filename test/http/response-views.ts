import type * as z from 'zod';
import type { AuditVerification } from '../../functions/audit/schemas.ts';
import type { makeAuditTrail } from '../../functions/audit/use-cases/audit-trail.ts';
import type { SendInput } from '../../functions/messages/model.ts';
import type {
  ListedMessage,
  Message,
  MessageList,
  SendMessageRequest,
  SendMessageResponse,
} from '../../functions/messages/schemas.ts';
import type {
  makeGetMessage,
  makeListMessages,
  makeRedactBody,
} from '../../functions/messages/use-cases/read-messages.ts';
import type { BatchItemResult, makeSendMessage } from '../../functions/messages/use-cases/send-messages.ts';
import type { VerificationResult, VerificationStarted } from '../../functions/public-rights/schemas.ts';
import type { makePublicRights } from '../../functions/public-rights/use-cases/public-rights.ts';
import type {
  ConsentLedger,
  CreateConsentRequest,
  InboundList,
  OptOut,
  OptOutList,
  RemovedOptOut,
  Replies,
} from '../../functions/recipients/schemas.ts';
import type {
  ConsentInput,
  makeRecipientLists,
} from '../../functions/recipients/use-cases/recipient-lists.ts';
import type { SenderIdApplication as SenderIdApplicationSchema } from '../../functions/sender-ids/schemas.ts';
import type { makeSenderIds, SenderIdApplication } from '../../functions/sender-ids/use-cases/sender-ids.ts';
import type { ErasureResult, SubjectExport } from '../../functions/subject-rights/schemas.ts';
import type { makeSubjectRights } from '../../functions/subject-rights/use-cases/subject-rights.ts';
import type {
  AnalyticsReport,
  ApiKey,
  ApiKeyList,
  ClosedTenant,
  CreateKeyRequest,
  CreateTenantRequest,
  IssuedApiKey,
  RotatedApiKey,
  SenderIdReview,
  TenantList,
  Tenant as TenantSchema,
} from '../../functions/tenants/schemas.ts';
import type { makeCloseAccount } from '../../functions/tenants/use-cases/close-account.ts';
import type { makeTenantAdmin, NewKey, NewTenant } from '../../functions/tenants/use-cases/manage-tenants.ts';
import type { UsageReport } from '../../functions/usage/schemas.ts';
import type { makeUsageReports } from '../../functions/usage/use-cases/usage-reports.ts';
import type {
  RotatedWebhookSecret,
  Webhook,
  WebhookDeliveryList,
  WebhookList,
  WebhookWithSecret,
} from '../../functions/webhooks/schemas.ts';
import type { makeWebhookEndpoints } from '../../functions/webhooks/use-cases/webhooks.ts';
import type { ProblemBody } from '../../layers/http/problems.ts';
import type {
  AuditEventList,
  BatchItemResult as BatchItemResultSchema,
  Consent,
  Problem,
  SenderId,
  SenderIdList,
} from '../../layers/http/schemas.ts';

/*
 * What each use case returns as a response body, checked at compile time against the schema the
 * route table documents for it (schemas.ts, strict: a field it does not name fails a response at
 * run time). A view that gains, loses or renames a field without its schema, or a schema that
 * gains or renames a required field without the view, is a type error here, in the pair's line.
 * The functions hand these values to `json` as they are (a list wrapped in `{ data }` at most).
 * The other way, a request schema's parsed value is checked against the core's input it feeds.
 */

type KeysOf<T> = T extends unknown ? keyof T : never;
type PropOf<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;
type ElementOf<T> = T extends readonly (infer E)[] ? E : never;

/** The keys of `A`, at any depth (through arrays, unions and nulls), that `B` does not name. */
type Leaks<A, B> = A extends readonly unknown[]
  ? Leaks<ElementOf<A>, ElementOf<B>>
  : A extends object
    ?
        | Exclude<keyof A, KeysOf<B>>
        | { [K in keyof A & KeysOf<B>]-?: Leaks<A[K], PropOf<B, K>> }[keyof A & KeysOf<B>]
    : never;

/** `true` when every `A` is a `B` and names no field `B` lacks; otherwise what is wrong, which the compiler prints. */
type Fits<A, B> = [A] extends [B]
  ? [Leaks<A, B>] extends [never]
    ? true
    : { leaks: Leaks<A, B> }
  : { notAssignable: [A, B] };

/** A use case's answer `View` is a body `Schema` takes, and names no field `Schema` lacks. */
export type Shows<View, Schema extends z.ZodType> = Fits<View, z.input<Schema>>;
/** A request `Schema` parses into the use case's `Input`, with no field the use case would drop. */
export type Reads<Schema extends z.ZodType, Input> = Fits<z.output<Schema>, Input>;
type Check<T extends true> = T;

type Out<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;
type Admin = ReturnType<typeof makeTenantAdmin>;
type Senders = ReturnType<typeof makeSenderIds>;
type Lists = ReturnType<typeof makeRecipientLists>;
type Subjects = ReturnType<typeof makeSubjectRights>;
type Rights = ReturnType<typeof makePublicRights>;
type Usage = ReturnType<typeof makeUsageReports>;
type Hooks = ReturnType<typeof makeWebhookEndpoints>;
type Trail = ReturnType<typeof makeAuditTrail>;

export type ResponseViews = [
  // Admin API (functions/tenants/admin.ts)
  Check<Shows<Out<Admin['createTenant']>, typeof TenantSchema>>,
  Check<Shows<Out<Admin['getTenant']>, typeof TenantSchema>>,
  Check<Shows<{ data: Out<Admin['listTenants']> }, typeof TenantList>>,
  Check<Shows<Out<Admin['issueKey']>, typeof IssuedApiKey>>,
  Check<Shows<{ data: Out<Admin['listKeys']> }, typeof ApiKeyList>>,
  Check<Shows<Out<Admin['rotateKey']>, typeof RotatedApiKey>>,
  Check<Shows<Out<Admin['revokeKey']>, typeof ApiKey>>,
  Check<Shows<Out<Admin['updatePolicy']>, typeof TenantSchema>>,
  Check<Shows<Out<Admin['updateControls']>, typeof TenantSchema>>,
  Check<Shows<Out<ReturnType<typeof makeCloseAccount>>, typeof ClosedTenant>>,
  Check<Shows<Out<Senders['listPending']>, typeof SenderIdList>>,
  Check<Shows<Out<Senders['review']>, typeof SenderIdReview>>,
  Check<Shows<Out<Senders['decide']>, typeof SenderId>>,
  Check<Shows<Out<Usage['aggregates']>, typeof AnalyticsReport>>,
  // Tenant API
  Check<Shows<Out<Admin['updateReplies']>, typeof Replies>>,
  Check<Shows<Out<Admin['replies']>, typeof Replies>>,
  Check<Shows<Out<Senders['apply']>, typeof SenderId>>,
  Check<Shows<Out<Senders['list']>, typeof SenderIdList>>,
  Check<Shows<Out<Senders['get']>, typeof SenderId>>,
  Check<Shows<Out<Lists['listOptOuts']>, typeof OptOutList>>,
  Check<Shows<Out<Lists['addOptOut']>, typeof OptOut>>,
  Check<Shows<Out<Lists['removeOptOut']>, typeof RemovedOptOut>>,
  Check<Shows<Out<Lists['recordConsent']>, typeof Consent>>,
  Check<Shows<Out<Lists['consentLedger']>, typeof ConsentLedger>>,
  Check<Shows<Out<Lists['listInbound']>, typeof InboundList>>,
  Check<Shows<Out<ReturnType<typeof makeSendMessage>>['result'], typeof SendMessageResponse>>,
  Check<Shows<Extract<BatchItemResult, { status: 'accepted' }>, typeof BatchItemResultSchema>>,
  Check<Shows<ProblemBody, typeof Problem>>,
  Check<Shows<Out<ReturnType<typeof makeGetMessage>>, typeof Message>>,
  Check<Shows<Out<ReturnType<typeof makeListMessages>>, typeof MessageList>>,
  Check<Shows<Out<ReturnType<typeof makeRedactBody>>, typeof ListedMessage>>,
  Check<Shows<Out<Subjects['export']>, typeof SubjectExport>>,
  Check<Shows<Out<Subjects['erase']>, typeof ErasureResult>>,
  Check<Shows<Out<Usage['tenantReport']>, typeof UsageReport>>,
  Check<Shows<Out<Hooks['create']>, typeof WebhookWithSecret>>,
  Check<Shows<Out<Hooks['list']>, typeof WebhookList>>,
  Check<Shows<Out<Hooks['get']>, typeof Webhook>>,
  Check<Shows<Out<Hooks['rotateSecret']>, typeof RotatedWebhookSecret>>,
  Check<Shows<Out<Hooks['deliveries']>, typeof WebhookDeliveryList>>,
  Check<Shows<Out<Trail['list']>, typeof AuditEventList>>,
  Check<Shows<Out<Trail['verify']>, typeof AuditVerification>>,
  // Public API (functions/public-rights/verifications.ts)
  Check<Shows<Out<Rights['start']>, typeof VerificationStarted>>,
  Check<Shows<Out<Rights['confirm']>, typeof VerificationResult>>,
];

/* The request bodies the use cases take as they are parsed (their twins in the core). */
export type RequestInputs = [
  Check<Reads<typeof SendMessageRequest, SendInput>>,
  Check<Reads<typeof CreateTenantRequest, NewTenant>>,
  Check<Reads<typeof CreateKeyRequest, NewKey>>,
  Check<Reads<typeof SenderIdApplicationSchema, SenderIdApplication>>,
  Check<Reads<typeof CreateConsentRequest, ConsentInput>>,
];

/** The checks themselves can fail: one field more than the other side, at any depth, is refused. */
export type ShowsRefusesALeak = [
  // @ts-expect-error a key's secret hash in the view of a key
  Check<Shows<Out<Admin['revokeKey']> & { secretHash: string }, typeof ApiKey>>,
  // @ts-expect-error a recipient number inside a listed endpoint
  Check<Shows<{ data: (Out<Hooks['get']> & { to: string })[] }, typeof WebhookList>>,
  // @ts-expect-error a renamed field
  Check<Shows<Omit<Out<Hooks['get']>, 'url'> & { endpoint: string }, typeof Webhook>>,
  // @ts-expect-error a request field the use case does not take
  Check<Reads<typeof CreateConsentRequest, Omit<ConsentInput, 'ip'>>>,
];
