import type * as z from 'zod';
import type { Scope } from '../core/api-keys.ts';
import * as s from './schemas.ts';

/** HTTP functions, each `functions/<name>.ts` exporting `operations` (keyed by operation id) and `handler`. */
export const HTTP_FUNCTIONS = [
  'send-message',
  'send-batch',
  'get-message',
  'list-messages',
  'delete-message-body',
  'subjects',
  'inbound',
  'opt-outs',
  'consents',
  'sender-ids',
  'settings',
  'verifications',
  'carrier-inbound',
  'audit-events',
  'usage',
  'webhooks',
  'get-openapi',
  'admin',
] as const;
export type HttpFunction = (typeof HTTP_FUNCTIONS)[number];

/**
 * The function behind the `$default` route, which answers requests no route takes (404, or 405
 * with Allow): the one that serves the API's description already holds the route table.
 */
export const UNKNOWN_ROUTE_FUNCTION: HttpFunction = 'get-openapi';

/** The other functions: the API key authorizer and the queue workers. */
export const OTHER_FUNCTIONS = [
  'authorize',
  'dispatch-messages',
  'apply-carrier-events',
  'record-audit-events',
  'deliver-webhooks',
] as const;

/** Functions deployed only with End User Messaging as the carrier: its topic's subscriber. */
export const EUM_FUNCTIONS = ['receive-eum-events'] as const;

/** The response headers the gateway sends, each declared where it can be sent (OpenAPI `headers`). */
export const RESPONSE_HEADERS = {
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    schema: { type: 'integer', minimum: 0 },
  },
  'Idempotent-Replayed': {
    description:
      'Sent (as `true`) when this is the stored response to an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
  Location: {
    description: 'The path of the message created.',
    schema: { type: 'string', example: '/v1/messages/msg_01M85ZWWMPGX6VT348ZP3J8NST' },
  },
  'WWW-Authenticate': {
    description: 'How to authenticate: `Bearer`.',
    schema: { type: 'string', example: 'Bearer' },
  },
  'X-Next-Cursor': {
    description: 'Exports (`format=csv` or `ndjson`): the cursor of the next page; absent on the last page.',
    schema: { type: 'string' },
  },
  'Content-Disposition': {
    description: 'CSV exports: the file name to save the report as.',
    schema: { type: 'string', example: 'attachment; filename="usage-2026-11-01-2026-11-30.csv"' },
  },
} as const satisfies Record<string, { description: string; schema: Record<string, unknown> }>;
export type ResponseHeader = keyof typeof RESPONSE_HEADERS;

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** The headers this response can carry. */
  headers?: readonly ResponseHeader[];
  /** Text media types the route can also answer in (exports). */
  text?: readonly string[];
  /** API Gateway itself can answer this status on this route, with `{"message": ...}` (GatewayMessage). */
  gateway?: boolean;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  function: HttpFunction;
  /**
   * tenant: API key through the Lambda authorizer; admin: IAM in AWS, the admin token locally;
   * carrier: the carrier webhook token, checked by the function; public: none.
   */
  auth: 'tenant' | 'admin' | 'carrier' | 'public';
  scope?: Scope;
  operationId: string;
  summary: string;
  tags: readonly string[];
  idempotent?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, RouteResponse>;
}

/** The headers every problem of a status carries (429 and 503 say when to retry). */
const PROBLEM_HEADERS: Record<number, ResponseHeader[]> = {
  401: ['WWW-Authenticate'],
  429: ['Retry-After'],
  503: ['Retry-After'],
};

const problem = (code: number): RouteResponse => ({
  description: 'Problem details (RFC 9457)',
  schema: s.Problem,
  ...(PROBLEM_HEADERS[code] ? { headers: PROBLEM_HEADERS[code] } : {}),
});
const problems = (...codes: number[]): Record<number, RouteResponse> =>
  Object.fromEntries(codes.map((c) => [c, problem(c)]));

/**
 * Routes that open a sealed record of their own (a replayed result, a webhook secret, an
 * applicant's identity): 410 `data-unreadable` when it does not open for good.
 */
const unreadable: Record<number, RouteResponse> = {
  410: {
    description:
      "Problem details (RFC 9457), `data-unreadable`: a stored record this request needs does not open under this account's key; asking again gives the same answer",
    schema: s.Problem,
  },
};

/** Writes with an Idempotency-Key: 409 while the first request with the key is still running. */
const inProgress: Record<number, RouteResponse> = {
  409: {
    description: 'Problem details (RFC 9457); `idempotency-in-progress` says when to retry',
    schema: s.Problem,
    headers: ['Retry-After'],
  },
};

/**
 * What every route can answer besides its own responses: a 500 and a 503 (ours as problem
 * details; API Gateway's own when a function fails, Lambda refuses to run it or it does not answer
 * in time), the 401 API Gateway gives a tenant route called without an Authorization header, the
 * 403 it gives an admin route whose call IAM refuses, and the 413 it gives a body over its quota.
 */
/** API Gateway's payload quota for an HTTP API, and Lambda's for a synchronous invocation (the event). */
export const PAYLOAD_QUOTAS = { httpApiBodyMb: 10, lambdaInvocationMb: 6 } as const;

function withEdgeResponses(route: Route): Route {
  const responses: Record<number, RouteResponse> = {
    ...route.responses,
    500: {
      description: `Something failed on our side: problem details that say nothing more, or API Gateway's own answer when the function failed or Lambda refused to run it (a request whose event, body and headers together, is over Lambda's ${PAYLOAD_QUOTAS.lambdaInvocationMb} MB invocation payload)`,
      schema: s.Problem,
      gateway: true,
    },
    503: {
      description:
        "A dependency is unavailable: problem details with Retry-After; or API Gateway's own answer when the function did not answer in time",
      schema: s.Problem,
      headers: ['Retry-After'],
      gateway: true,
    },
  };
  if (route.auth === 'tenant') {
    responses[401] = {
      ...(responses[401] ?? problem(401)),
      description:
        'Problem details for an unknown, malformed or revoked key; API Gateway answers a request without an Authorization header itself',
      gateway: true,
    };
  }
  if (route.body) {
    responses[413] = {
      description: `API Gateway refused the request before any function ran: its body is over ${PAYLOAD_QUOTAS.httpApiBodyMb} MB, the payload quota of an HTTP API`,
      gateway: true,
    };
  }
  if (route.auth === 'admin') {
    responses[403] = {
      description: 'API Gateway refused the call: not signed by an IAM principal allowed to call it',
      gateway: true,
    };
  }
  return { ...route, responses };
}

/**
 * The routes, each with the responses of its own (ROUTES adds those every route has). Kept as
 * literal types: an operation's handler (`layers/http/operations.ts`) gets its input typed from
 * its route's schemas, by operation id.
 */
export const TABLE = [
  {
    method: 'POST',
    path: '/v1/messages',
    function: 'send-message',
    auth: 'tenant',
    scope: 'send',
    operationId: 'sendMessage',
    summary: 'Send one SMS',
    tags: ['Messages'],
    idempotent: true,
    body: s.SendMessageRequest,
    responses: {
      202: {
        description: 'Accepted and queued (or quarantined by a content rule)',
        schema: s.SendMessageResponse,
        headers: ['Location', 'Idempotent-Replayed'],
      },
      ...problems(400, 401, 403, 421, 422, 429, 503),
      ...inProgress,
      ...unreadable,
    },
  },
  {
    method: 'POST',
    path: '/v1/messages/batch',
    function: 'send-batch',
    auth: 'tenant',
    scope: 'send',
    operationId: 'sendMessageBatch',
    summary: 'Send up to 1,000 SMS in one call; each item is accepted or refused on its own',
    tags: ['Messages'],
    idempotent: true,
    body: s.SendBatchRequest,
    responses: {
      200: {
        description: 'A result per item, in request order',
        schema: s.SendBatchResponse,
        headers: ['Idempotent-Replayed'],
      },
      ...problems(400, 401, 403, 422, 429, 503),
      ...inProgress,
      ...unreadable,
    },
  },
  {
    method: 'GET',
    path: '/v1/messages',
    function: 'list-messages',
    auth: 'tenant',
    scope: 'read',
    operationId: 'listMessages',
    summary: 'List messages, newest first',
    tags: ['Messages'],
    query: s.ListMessagesQuery,
    responses: {
      200: { description: 'A page of messages', schema: s.MessageList },
      ...problems(401, 403, 421, 422, 429),
    },
  },
  {
    method: 'GET',
    path: '/v1/messages/{id}',
    function: 'get-message',
    auth: 'tenant',
    scope: 'read',
    operationId: 'getMessage',
    summary: 'Get one message and its status',
    tags: ['Messages'],
    params: s.MessageIdParams,
    responses: {
      200: { description: 'The message', schema: s.Message },
      410: {
        description:
          "Problem details (RFC 9457), `message-unreadable`: its stored content does not open under this account's key; asking again gives the same answer",
        schema: s.Problem,
      },
      ...problems(401, 403, 404, 422, 429),
    },
  },
  {
    method: 'DELETE',
    path: '/v1/messages/{id}/body',
    function: 'delete-message-body',
    auth: 'tenant',
    scope: 'send',
    operationId: 'deleteMessageBody',
    summary: "Remove a message's body now; its status and metadata stay until their own expiry",
    tags: ['Messages'],
    params: s.MessageIdParams,
    responses: {
      200: {
        description: 'The message, without its body (marked `unreadable` if its content does not open)',
        schema: s.ListedMessage,
      },
      ...problems(401, 403, 404, 422, 429),
    },
  },
  {
    method: 'GET',
    path: '/v1/subjects/{phone}/export',
    function: 'subjects',
    auth: 'tenant',
    scope: 'read',
    operationId: 'exportSubject',
    summary: 'Everything this tenant holds about a phone number, in both jurisdictions, decrypted',
    tags: ['Data subjects'],
    params: s.SubjectParams,
    responses: {
      200: { description: 'The export', schema: s.SubjectExport },
      ...problems(401, 403, 421, 422, 429),
    },
  },
  {
    method: 'DELETE',
    path: '/v1/subjects/{phone}',
    function: 'subjects',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'eraseSubject',
    summary: 'Erase every live trace of a phone number; says what remains and until when',
    tags: ['Data subjects'],
    params: s.SubjectParams,
    query: s.ErasureQuery,
    responses: {
      200: { description: 'What was erased and what remains', schema: s.ErasureResult },
      ...problems(401, 403, 421, 422, 429),
    },
  },
  {
    method: 'GET',
    path: '/v1/inbound',
    function: 'inbound',
    auth: 'tenant',
    scope: 'read',
    operationId: 'listInbound',
    summary: 'Replies from recipients, newest first (keywords marked)',
    tags: ['Recipients'],
    query: s.InboundQuery,
    responses: {
      200: { description: 'A page of replies', schema: s.InboundList },
      ...problems(401, 403, 421, 422, 429, 503),
    },
  },
  {
    method: 'GET',
    path: '/v1/opt-outs',
    function: 'opt-outs',
    auth: 'tenant',
    scope: 'read',
    operationId: 'listOptOuts',
    summary:
      "This account's opt-out list: both jurisdictions' at the EU endpoint, the global region's at the global endpoint",
    tags: ['Recipients'],
    responses: { 200: { description: 'The opt-outs', schema: s.OptOutList }, ...problems(401, 403, 429) },
  },
  {
    method: 'POST',
    path: '/v1/opt-outs',
    function: 'opt-outs',
    auth: 'tenant',
    scope: 'send',
    operationId: 'addOptOut',
    summary: 'Add a number to the opt-out list (all messages, or promotional only)',
    tags: ['Recipients'],
    body: s.CreateOptOutRequest,
    responses: {
      201: { description: 'Added', schema: s.OptOut },
      ...problems(400, 401, 403, 421, 422, 429, 503),
    },
  },
  {
    method: 'DELETE',
    path: '/v1/opt-outs/{phone}',
    function: 'opt-outs',
    auth: 'tenant',
    scope: 'send',
    operationId: 'removeOptOut',
    summary: 'Remove an opt-out; needs a consent recorded after it (409 otherwise)',
    tags: ['Recipients'],
    params: s.PhoneParams,
    responses: {
      200: { description: 'Whether there was one to remove', schema: s.RemovedOptOut },
      ...problems(401, 403, 409, 421, 422, 429, 503),
    },
  },
  {
    method: 'POST',
    path: '/v1/consents',
    function: 'consents',
    auth: 'tenant',
    scope: 'send',
    operationId: 'recordConsent',
    summary: 'Record an opt-in with its evidence (append-only ledger)',
    tags: ['Recipients'],
    body: s.CreateConsentRequest,
    responses: {
      201: { description: 'Recorded', schema: s.Consent },
      ...problems(400, 401, 403, 421, 422, 429, 503),
    },
  },
  {
    method: 'GET',
    path: '/v1/consents/{phone}',
    function: 'consents',
    auth: 'tenant',
    scope: 'read',
    operationId: 'getConsentLedger',
    summary: "A number's consent ledger and whether a consent is live",
    tags: ['Recipients'],
    params: s.PhoneParams,
    responses: {
      200: { description: 'The ledger', schema: s.ConsentLedger },
      ...problems(401, 403, 421, 422, 429, 503),
    },
  },
  {
    method: 'POST',
    path: '/v1/sender-ids',
    function: 'sender-ids',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'applyForSenderId',
    summary: 'Apply for a sender ID with the business identity; usable once an operator approves it',
    tags: ['Sender IDs'],
    body: s.SenderIdApplication,
    responses: {
      201: { description: 'Pending review', schema: s.SenderId },
      ...problems(400, 401, 403, 409, 421, 422, 429, 503),
    },
  },
  {
    method: 'GET',
    path: '/v1/sender-ids',
    function: 'sender-ids',
    auth: 'tenant',
    scope: 'read',
    operationId: 'listSenderIds',
    summary: "This account's sender IDs and their status",
    tags: ['Sender IDs'],
    responses: { 200: { description: 'Sender IDs', schema: s.SenderIdList }, ...problems(401, 403, 429) },
  },
  {
    method: 'GET',
    path: '/v1/settings/replies',
    function: 'settings',
    auth: 'tenant',
    scope: 'read',
    operationId: 'getReplies',
    summary: 'What the gateway answers to HELP, extra keywords, reference codes',
    tags: ['Recipients'],
    responses: { 200: { description: 'The replies', schema: s.Replies }, ...problems(401, 403, 429) },
  },
  {
    method: 'PUT',
    path: '/v1/settings/replies',
    function: 'settings',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'updateReplies',
    summary: 'Change the HELP text, add keywords in other languages, turn reference codes on or off',
    tags: ['Recipients'],
    body: s.UpdateRepliesRequest,
    responses: {
      200: { description: 'The replies', schema: s.Replies },
      ...problems(400, 401, 403, 422, 429),
    },
  },
  {
    method: 'POST',
    path: '/public/v1/verifications',
    function: 'verifications',
    auth: 'public',
    operationId: 'startVerification',
    summary:
      "For anyone: block every message to a number, or learn who sent one. Sends a one-time code to the number; the answer is the same whatever the number. An EU/EEA number's code is sent by the EU region: the global endpoint answers 421 naming the EU endpoint, where the code is asked and confirmed",
    tags: ['Public'],
    body: s.StartVerificationRequest,
    responses: {
      202: { description: 'A code was sent if the number can receive one', schema: s.VerificationStarted },
      ...problems(400, 421, 422, 429),
    },
  },
  {
    method: 'POST',
    path: '/public/v1/verifications/{id}/confirm',
    function: 'verifications',
    auth: 'public',
    operationId: 'confirmVerification',
    summary: 'Give the one-time code: blocks the number, or names the sender (never the content)',
    tags: ['Public'],
    params: s.VerificationParams,
    body: s.ConfirmVerificationRequest,
    responses: {
      200: { description: 'Done', schema: s.VerificationResult },
      ...problems(400, 422, 429),
    },
  },
  {
    method: 'POST',
    path: '/carrier/v1/inbound',
    function: 'carrier-inbound',
    auth: 'carrier',
    operationId: 'carrierInbound',
    summary:
      "A carrier reports a person's reply (bearer: the carrier token from the admin API). The global endpoint relays a reply from an EU/EEA number to the EU endpoint as it came, and answers with its answer (503 when the EU region cannot be reached: report it again)",
    tags: ['Carrier'],
    body: s.CarrierInboundRequest,
    responses: {
      202: { description: 'Queued for processing', schema: s.Accepted },
      ...problems(400, 401, 422, 503),
    },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    function: 'get-openapi',
    auth: 'public',
    operationId: 'getOpenApi',
    summary: 'This document',
    tags: ['Meta'],
    responses: { 200: { description: 'OpenAPI 3.1 document' } },
  },
  {
    method: 'POST',
    path: '/admin/tenants',
    function: 'admin',
    auth: 'admin',
    operationId: 'createTenant',
    summary: 'Create a tenant',
    tags: ['Admin'],
    body: s.CreateTenantRequest,
    responses: { 201: { description: 'Created', schema: s.Tenant }, ...problems(400, 401, 422) },
  },
  {
    method: 'GET',
    path: '/admin/tenants',
    function: 'admin',
    auth: 'admin',
    operationId: 'listTenants',
    summary: 'List tenants',
    tags: ['Admin'],
    responses: { 200: { description: 'Tenants', schema: s.TenantList }, ...problems(401) },
  },
  {
    method: 'GET',
    path: '/admin/tenants/{tenantId}',
    function: 'admin',
    auth: 'admin',
    operationId: 'getTenant',
    summary: 'Get a tenant',
    tags: ['Admin'],
    params: s.TenantIdParams,
    responses: { 200: { description: 'The tenant', schema: s.Tenant }, ...problems(401, 404, 422) },
  },
  {
    method: 'POST',
    path: '/admin/tenants/{tenantId}/keys',
    function: 'admin',
    auth: 'admin',
    operationId: 'issueApiKey',
    summary: 'Issue an API key (its secret is shown once)',
    tags: ['Admin'],
    params: s.TenantIdParams,
    body: s.CreateKeyRequest,
    responses: { 201: { description: 'Issued', schema: s.IssuedApiKey }, ...problems(400, 401, 404, 422) },
  },
  {
    method: 'GET',
    path: '/admin/tenants/{tenantId}/keys',
    function: 'admin',
    auth: 'admin',
    operationId: 'listApiKeys',
    summary: "List a tenant's API keys (never their secrets)",
    tags: ['Admin'],
    params: s.TenantIdParams,
    responses: { 200: { description: 'Keys', schema: s.ApiKeyList }, ...problems(401, 404, 422) },
  },
  {
    method: 'POST',
    path: '/admin/tenants/{tenantId}/keys/{keyId}/rotate',
    function: 'admin',
    auth: 'admin',
    operationId: 'rotateApiKey',
    summary: 'Issue a successor key; the old one stops after a grace period',
    tags: ['Admin'],
    params: s.KeyIdParams,
    body: s.RotateKeyRequest,
    responses: { 201: { description: 'Rotated', schema: s.RotatedApiKey }, ...problems(400, 401, 404, 422) },
  },
  {
    method: 'DELETE',
    path: '/admin/tenants/{tenantId}/keys/{keyId}',
    function: 'admin',
    auth: 'admin',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key now',
    tags: ['Admin'],
    params: s.KeyIdParams,
    responses: { 200: { description: 'Revoked', schema: s.ApiKey }, ...problems(401, 404, 422) },
  },
  {
    method: 'PUT',
    path: '/admin/tenants/{tenantId}/policy',
    function: 'admin',
    auth: 'admin',
    operationId: 'updateTenantPolicy',
    summary: "Change a tenant's retention policy or residency mode (applies to new messages)",
    tags: ['Admin'],
    params: s.TenantIdParams,
    body: s.UpdateTenantPolicyRequest,
    responses: { 200: { description: 'The tenant', schema: s.Tenant }, ...problems(400, 401, 404, 422) },
  },
  {
    method: 'PUT',
    path: '/admin/tenants/{tenantId}/controls',
    function: 'admin',
    auth: 'admin',
    operationId: 'updateTenantControls',
    summary: "Set a tenant's abuse controls: countries, flood limits, rate limit, monthly cap, content rules",
    tags: ['Admin'],
    params: s.TenantIdParams,
    body: s.UpdateControlsRequest,
    responses: { 200: { description: 'The tenant', schema: s.Tenant }, ...problems(400, 401, 404, 422) },
  },
  {
    method: 'GET',
    path: '/admin/sender-ids',
    function: 'admin',
    auth: 'admin',
    operationId: 'listPendingSenderIds',
    summary: 'Sender ID applications awaiting a decision, oldest first',
    tags: ['Admin'],
    responses: { 200: { description: 'Pending applications', schema: s.SenderIdList }, ...problems(401) },
  },
  {
    method: 'GET',
    path: '/admin/tenants/{tenantId}/sender-ids/{senderId}',
    function: 'admin',
    auth: 'admin',
    operationId: 'reviewSenderId',
    summary:
      "An application with its identity details (until they are purged); an EU-home tenant's at the EU endpoint",
    tags: ['Admin'],
    params: s.SenderIdParams,
    responses: {
      200: { description: 'The application', schema: s.SenderIdReview },
      ...problems(401, 404, 421, 422),
      ...unreadable,
    },
  },
  {
    method: 'POST',
    path: '/admin/tenants/{tenantId}/sender-ids/{senderId}/decision',
    function: 'admin',
    auth: 'admin',
    operationId: 'decideSenderId',
    summary: 'Approve or reject a sender ID (a rejection needs a reason)',
    tags: ['Admin'],
    params: s.SenderIdParams,
    body: s.SenderIdDecision,
    responses: { 200: { description: 'Decided', schema: s.SenderId }, ...problems(400, 401, 404, 409, 422) },
  },
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
    query: s.AuditQuery,
    responses: {
      200: {
        description: 'A page of audit events (or its export)',
        schema: s.AuditEventList,
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
    query: s.AuditVerificationQuery,
    responses: {
      200: { description: 'The verification', schema: s.AuditVerification },
      ...problems(401, 403, 421, 422, 429, 503),
    },
  },
  {
    method: 'GET',
    path: '/v1/usage',
    function: 'usage',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'getUsage',
    summary:
      "Messages and segments by day, country and status, with an estimated cost (JSON or CSV); at the global endpoint, a strict tenant's counts the global region only",
    tags: ['Account'],
    query: s.UsageQuery,
    responses: {
      200: {
        description: 'The usage report',
        schema: s.UsageReport,
        text: ['text/csv'],
        headers: ['Content-Disposition'],
      },
      ...problems(401, 403, 422, 429, 503),
    },
  },
  {
    method: 'POST',
    path: '/v1/webhooks',
    function: 'webhooks',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'createWebhook',
    summary: 'Register an endpoint for status changes and replies (the signing secret is shown once)',
    tags: ['Webhooks'],
    body: s.CreateWebhookRequest,
    responses: {
      201: { description: 'Registered', schema: s.WebhookWithSecret },
      ...problems(400, 401, 403, 409, 422, 429),
    },
  },
  {
    method: 'GET',
    path: '/v1/webhooks',
    function: 'webhooks',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'listWebhooks',
    summary: "The account's webhook endpoints",
    tags: ['Webhooks'],

    responses: { 200: { description: 'The endpoints', schema: s.WebhookList }, ...problems(401, 403, 429) },
  },
  {
    method: 'GET',
    path: '/v1/webhooks/{webhookId}',
    function: 'webhooks',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'getWebhook',
    summary: 'One webhook endpoint',
    tags: ['Webhooks'],
    params: s.WebhookIdParams,
    responses: {
      200: { description: 'The endpoint', schema: s.Webhook },
      ...problems(401, 403, 404, 422, 429),
      ...unreadable,
    },
  },
  {
    method: 'DELETE',
    path: '/v1/webhooks/{webhookId}',
    function: 'webhooks',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'deleteWebhook',
    summary: 'Remove an endpoint; deliveries still queued for it are dropped',
    tags: ['Webhooks'],
    params: s.WebhookIdParams,
    responses: { 204: { description: 'Removed' }, ...problems(401, 403, 404, 422, 429) },
  },
  {
    method: 'POST',
    path: '/v1/webhooks/{webhookId}/rotate-secret',
    function: 'webhooks',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'rotateWebhookSecret',
    summary: 'A new signing secret; the previous one keeps signing for a grace period',
    tags: ['Webhooks'],
    params: s.WebhookIdParams,
    body: s.RotateWebhookSecretRequest,
    responses: {
      200: { description: 'Rotated', schema: s.RotatedWebhookSecret },
      ...problems(400, 401, 403, 404, 422, 429),
      ...unreadable,
    },
  },
  {
    method: 'GET',
    path: '/v1/webhooks/{webhookId}/deliveries',
    function: 'webhooks',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'listWebhookDeliveries',
    summary: 'Delivery history of an endpoint, newest first: attempts, last status, errors, next attempt',
    tags: ['Webhooks'],
    params: s.WebhookIdParams,
    query: s.WebhookDeliveriesQuery,
    responses: {
      200: { description: 'A page of deliveries', schema: s.WebhookDeliveryList },
      ...problems(401, 403, 404, 421, 422, 429, 503),
      ...unreadable,
    },
  },
  {
    method: 'GET',
    path: '/admin/analytics',
    function: 'admin',
    auth: 'admin',
    operationId: 'getAnalytics',
    summary:
      'Anonymised counts by day, country and status across tenants (live traffic; small cells suppressed)',
    tags: ['Admin'],
    query: s.AnalyticsQuery,
    responses: { 200: { description: 'The aggregates', schema: s.AnalyticsReport }, ...problems(401, 422) },
  },
  {
    method: 'GET',
    path: '/admin/audit-events',
    function: 'admin',
    auth: 'admin',
    operationId: 'listAuditEventsAsOperator',
    summary: "A tenant's audit trail, or the operator's own actions on no tenant",
    tags: ['Admin'],
    query: s.AdminAuditQuery,
    responses: {
      200: {
        description: 'A page of audit events (or its export)',
        schema: s.AuditEventList,
        text: ['text/csv', 'application/x-ndjson'],
        headers: ['X-Next-Cursor'],
      },
      ...problems(401, 421, 422),
    },
  },
  {
    method: 'POST',
    path: '/admin/carrier-token',
    function: 'admin',
    auth: 'admin',
    operationId: 'issueCarrierToken',
    summary: 'Issue the token carriers use to report replies (replaces the previous one)',
    tags: ['Admin'],
    responses: { 201: { description: 'Issued', schema: s.CarrierToken }, ...problems(401) },
  },
  {
    method: 'POST',
    path: '/admin/tenants/{tenantId}/close',
    function: 'admin',
    auth: 'admin',
    operationId: 'closeTenant',
    summary:
      "Close an account: revoke its keys, crypto-shred this region's jurisdiction's data (call each region's endpoint), keep only what the law requires",
    tags: ['Admin'],
    params: s.TenantIdParams,
    body: s.CloseTenantRequest,
    responses: {
      200: { description: 'Closed; each date stated', schema: s.ClosedTenant },
      ...problems(400, 401, 404, 422),
    },
  },
] as const satisfies readonly Route[];

/** The routes of the HTTP functions as the table states them, one type per route. */
export type TableRoute = (typeof TABLE)[number];

/**
 * The single source of truth for the HTTP API: the CDK app builds API Gateway routes from it,
 * the local runtime serves the same handlers from it, and the OpenAPI document is generated
 * from it. A request no route takes goes to the `$default` route (see `unknownRoute`).
 */
export const ROUTES: Route[] = TABLE.map(withEdgeResponses);

/**
 * A route's responses as documented (the route table's entries already carry the 500 and 503
 * every route can answer, the 503 of a key that could not be looked up included).
 */
export function documentedResponses(route: Route): Route['responses'] {
  return route.responses;
}

export const routeKey = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;
