import type * as z from 'zod';
import type { Scope } from '../core/api-keys.ts';
import * as s from './schemas.ts';

/** HTTP functions, each `functions/<name>.ts` exporting `handler`. */
export const HTTP_FUNCTIONS = [
  'send-message',
  'send-batch',
  'get-message',
  'list-messages',
  'delete-message-body',
  'subjects',
  'get-openapi',
  'admin',
] as const;
export type HttpFunction = (typeof HTTP_FUNCTIONS)[number];

/** The other functions: the API key authorizer and the queue workers. */
export const OTHER_FUNCTIONS = ['authorize', 'dispatch-messages', 'apply-carrier-events'] as const;

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  function: HttpFunction;
  /** tenant: API key through the Lambda authorizer; admin: IAM in AWS, the admin token locally; public: none. */
  auth: 'tenant' | 'admin' | 'public';
  scope?: Scope;
  operationId: string;
  summary: string;
  tags: string[];
  idempotent?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, RouteResponse>;
}

const problems = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: 'Problem details (RFC 9457)', schema: s.Problem }]));

/**
 * The single source of truth for the HTTP API: the CDK app builds API Gateway routes from it,
 * the local runtime serves the same handlers from it, and the OpenAPI document is generated
 * from it.
 */
export const ROUTES: Route[] = [
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
      202: { description: 'Accepted and queued', schema: s.SendMessageResponse },
      ...problems(400, 401, 403, 409, 421, 422, 503),
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
      200: { description: 'A result per item, in request order', schema: s.SendBatchResponse },
      ...problems(400, 401, 403, 409, 422, 503),
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
      ...problems(401, 403, 421, 422),
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
    responses: { 200: { description: 'The message', schema: s.Message }, ...problems(401, 403, 404, 422) },
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
      200: { description: 'The message, without its body', schema: s.Message },
      ...problems(401, 403, 404, 422),
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
      ...problems(401, 403, 421, 422),
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
      ...problems(401, 403, 421, 422),
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
    method: 'POST',
    path: '/admin/tenants/{tenantId}/close',
    function: 'admin',
    auth: 'admin',
    operationId: 'closeTenant',
    summary: 'Close an account: revoke its keys, crypto-shred its data, keep only what the law requires',
    tags: ['Admin'],
    params: s.TenantIdParams,
    body: s.CloseTenantRequest,
    responses: {
      200: { description: 'Closed; each date stated', schema: s.ClosedTenant },
      ...problems(400, 401, 404, 422),
    },
  },
];

export const routeKey = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;
