import { problems, type Route } from '#layers/http/route.ts';
import {
  ConfirmVerificationRequest,
  StartVerificationRequest,
  VerificationParams,
  VerificationResult,
  VerificationStarted,
} from './schemas.ts';

/** The public-rights capability's routes. */
export const publicRightsRoutes = [
  {
    method: 'POST',
    path: '/public/v1/verifications',
    function: 'verifications',
    auth: 'public',
    operationId: 'startVerification',
    summary:
      "For anyone: block every message to a number, or learn who sent one. Sends a one-time code to the number; the answer is the same whatever the number. An EU/EEA number's code is sent by the EU region: the global endpoint answers 421 naming the EU endpoint, where the code is asked and confirmed",
    tags: ['Public'],
    body: StartVerificationRequest,
    responses: {
      202: { description: 'A code was sent if the number can receive one', schema: VerificationStarted },
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
    params: VerificationParams,
    body: ConfirmVerificationRequest,
    responses: {
      200: { description: 'Done', schema: VerificationResult },
      ...problems(400, 422, 429),
    },
  },
] as const satisfies readonly Route[];
