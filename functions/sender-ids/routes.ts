import { problems, type Route } from '#layers/http/route.ts';
import { SenderId, SenderIdList } from '#layers/http/schemas.ts';
import { OwnSenderIdParams, SenderIdApplication } from './schemas.ts';

/** The sender-ids capability's routes. */
export const senderIdsRoutes = [
  {
    method: 'POST',
    path: '/v1/sender-ids',
    function: 'sender-ids',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'applyForSenderId',
    summary: 'Apply for a sender ID with the business identity; usable once an operator approves it',
    tags: ['Sender IDs'],
    body: SenderIdApplication,
    responses: {
      201: { description: 'Pending review', schema: SenderId },
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
    responses: { 200: { description: 'Sender IDs', schema: SenderIdList }, ...problems(401, 403, 429) },
  },
  {
    method: 'GET',
    path: '/v1/sender-ids/{senderId}',
    function: 'sender-ids',
    auth: 'tenant',
    scope: 'read',
    operationId: 'getSenderId',
    summary: "One of this account's sender IDs: its status, and the operator's reason for a rejection",
    tags: ['Sender IDs'],
    params: OwnSenderIdParams,
    responses: {
      200: { description: 'The sender ID', schema: SenderId },
      ...problems(401, 403, 404, 422, 429),
    },
  },
] as const satisfies readonly Route[];
