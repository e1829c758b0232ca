import type * as z from 'zod';
import type { makeAuditTrail } from '../../functions/audit/use-cases/audit-trail.ts';
import type { SendInput } from '../../functions/messages/model.ts';
import type {
  makeGetMessage,
  makeListMessages,
  makeRedactBody,
} from '../../functions/messages/use-cases/read-messages.ts';
import type { BatchItemResult, makeSendMessage } from '../../functions/messages/use-cases/send-messages.ts';
import type { makePublicRights } from '../../functions/public-rights/use-cases/public-rights.ts';
import type {
  ConsentInput,
  makeRecipientLists,
} from '../../functions/recipients/use-cases/recipient-lists.ts';
import type { makeSenderIds, SenderIdApplication } from '../../functions/sender-ids/use-cases/sender-ids.ts';
import type { makeSubjectRights } from '../../functions/subject-rights/use-cases/subject-rights.ts';
import type { makeCloseAccount } from '../../functions/tenants/use-cases/close-account.ts';
import type { makeTenantAdmin, NewKey, NewTenant } from '../../functions/tenants/use-cases/manage-tenants.ts';
import type { makeUsageReports } from '../../functions/usage/use-cases/usage-reports.ts';
import type { makeWebhookEndpoints } from '../../functions/webhooks/use-cases/webhooks.ts';
import type { ProblemBody } from '../../layers/http/problems.ts';
import type * as s from '../../layers/http/schemas.ts';

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
  // Admin API (functions/admin.ts)
  Check<Shows<Out<Admin['createTenant']>, typeof s.Tenant>>,
  Check<Shows<Out<Admin['getTenant']>, typeof s.Tenant>>,
  Check<Shows<{ data: Out<Admin['listTenants']> }, typeof s.TenantList>>,
  Check<Shows<Out<Admin['issueKey']>, typeof s.IssuedApiKey>>,
  Check<Shows<{ data: Out<Admin['listKeys']> }, typeof s.ApiKeyList>>,
  Check<Shows<Out<Admin['rotateKey']>, typeof s.RotatedApiKey>>,
  Check<Shows<Out<Admin['revokeKey']>, typeof s.ApiKey>>,
  Check<Shows<Out<Admin['updatePolicy']>, typeof s.Tenant>>,
  Check<Shows<Out<Admin['updateControls']>, typeof s.Tenant>>,
  Check<Shows<Out<ReturnType<typeof makeCloseAccount>>, typeof s.ClosedTenant>>,
  Check<Shows<Out<Senders['listPending']>, typeof s.SenderIdList>>,
  Check<Shows<Out<Senders['review']>, typeof s.SenderIdReview>>,
  Check<Shows<Out<Senders['decide']>, typeof s.SenderId>>,
  Check<Shows<Out<Usage['aggregates']>, typeof s.AnalyticsReport>>,
  // Tenant API
  Check<Shows<Out<Admin['updateReplies']>, typeof s.Replies>>,
  Check<Shows<Out<Admin['replies']>, typeof s.Replies>>,
  Check<Shows<Out<Senders['apply']>, typeof s.SenderId>>,
  Check<Shows<Out<Senders['list']>, typeof s.SenderIdList>>,
  Check<Shows<Out<Lists['listOptOuts']>, typeof s.OptOutList>>,
  Check<Shows<Out<Lists['addOptOut']>, typeof s.OptOut>>,
  Check<Shows<Out<Lists['removeOptOut']>, typeof s.RemovedOptOut>>,
  Check<Shows<Out<Lists['recordConsent']>, typeof s.Consent>>,
  Check<Shows<Out<Lists['consentLedger']>, typeof s.ConsentLedger>>,
  Check<Shows<Out<Lists['listInbound']>, typeof s.InboundList>>,
  Check<Shows<Out<ReturnType<typeof makeSendMessage>>['result'], typeof s.SendMessageResponse>>,
  Check<Shows<Extract<BatchItemResult, { status: 'accepted' }>, typeof s.BatchItemResult>>,
  Check<Shows<ProblemBody, typeof s.Problem>>,
  Check<Shows<Out<ReturnType<typeof makeGetMessage>>, typeof s.Message>>,
  Check<Shows<Out<ReturnType<typeof makeListMessages>>, typeof s.MessageList>>,
  Check<Shows<Out<ReturnType<typeof makeRedactBody>>, typeof s.ListedMessage>>,
  Check<Shows<Out<Subjects['export']>, typeof s.SubjectExport>>,
  Check<Shows<Out<Subjects['erase']>, typeof s.ErasureResult>>,
  Check<Shows<Out<Usage['tenantReport']>, typeof s.UsageReport>>,
  Check<Shows<Out<Hooks['create']>, typeof s.WebhookWithSecret>>,
  Check<Shows<Out<Hooks['list']>, typeof s.WebhookList>>,
  Check<Shows<Out<Hooks['get']>, typeof s.Webhook>>,
  Check<Shows<Out<Hooks['rotateSecret']>, typeof s.RotatedWebhookSecret>>,
  Check<Shows<Out<Hooks['deliveries']>, typeof s.WebhookDeliveryList>>,
  Check<Shows<Out<Trail['list']>, typeof s.AuditEventList>>,
  Check<Shows<Out<Trail['verify']>, typeof s.AuditVerification>>,
  // Public API (functions/verifications.ts)
  Check<Shows<Out<Rights['start']>, typeof s.VerificationStarted>>,
  Check<Shows<Out<Rights['confirm']>, typeof s.VerificationResult>>,
];

/* The request bodies the use cases take as they are parsed (their twins in the core). */
export type RequestInputs = [
  Check<Reads<typeof s.SendMessageRequest, SendInput>>,
  Check<Reads<typeof s.CreateTenantRequest, NewTenant>>,
  Check<Reads<typeof s.CreateKeyRequest, NewKey>>,
  Check<Reads<typeof s.SenderIdApplication, SenderIdApplication>>,
  Check<Reads<typeof s.CreateConsentRequest, ConsentInput>>,
];

/** The checks themselves can fail: one field more than the other side, at any depth, is refused. */
export type ShowsRefusesALeak = [
  // @ts-expect-error a key's secret hash in the view of a key
  Check<Shows<Out<Admin['revokeKey']> & { secretHash: string }, typeof s.ApiKey>>,
  // @ts-expect-error a recipient number inside a listed endpoint
  Check<Shows<{ data: (Out<Hooks['get']> & { to: string })[] }, typeof s.WebhookList>>,
  // @ts-expect-error a renamed field
  Check<Shows<Omit<Out<Hooks['get']>, 'url'> & { endpoint: string }, typeof s.Webhook>>,
  // @ts-expect-error a request field the use case does not take
  Check<Reads<typeof s.CreateConsentRequest, Omit<ConsentInput, 'ip'>>>,
];
