import { problems, type Route, type RouteResponse, unreadable } from '#layers/http/route.ts';
import { Problem as ProblemSchema } from '#layers/http/schemas.ts';
import {
  Accepted as AcceptedSchema,
  CarrierInboundRequest,
  ListedMessage,
  ListMessagesQuery,
  Message,
  MessageIdParams,
  MessageList,
  SendBatchRequest,
  SendBatchResponse,
  SendMessageRequest,
  SendMessageResponse,
} from './schemas.ts';

/** Writes with an Idempotency-Key: 409 while the first request with the key is still running. */
const inProgress: Record<number, RouteResponse> = {
  409: {
    description: 'Problem details (RFC 9457); `idempotency-in-progress` says when to retry',
    schema: ProblemSchema,
    headers: ['Retry-After'],
  },
};

/** The messages capability's routes. */
export const messagesRoutes = [
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
    body: SendMessageRequest,
    responses: {
      202: {
        description: 'Accepted and queued (or quarantined by a content rule)',
        schema: SendMessageResponse,
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
    body: SendBatchRequest,
    responses: {
      200: {
        description: 'A result per item, in request order',
        schema: SendBatchResponse,
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
    query: ListMessagesQuery,
    responses: {
      200: { description: 'A page of messages', schema: MessageList },
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
    params: MessageIdParams,
    responses: {
      200: { description: 'The message', schema: Message },
      410: {
        description:
          "Problem details (RFC 9457), `message-unreadable`: its stored content does not open under this account's key; asking again gives the same answer",
        schema: ProblemSchema,
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
    params: MessageIdParams,
    responses: {
      200: {
        description: 'The message, without its body (marked `unreadable` if its content does not open)',
        schema: ListedMessage,
      },
      ...problems(401, 403, 404, 422, 429),
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
    body: CarrierInboundRequest,
    responses: {
      202: { description: 'Queued for processing', schema: AcceptedSchema },
      ...problems(400, 401, 422, 503),
    },
  },
] as const satisfies readonly Route[];
