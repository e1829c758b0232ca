import {
  ConflictError,
  DomainError,
  type FieldIssue,
  ForbiddenError,
  IdempotencyConflictError,
  IdempotencyInProgressError,
  MalformedRequestError,
  MisdirectedError,
  NotFoundError,
  RateLimitedError,
  type RefusalReason,
  SendRefusedError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnreadableError,
  ValidationError,
  VerificationFailedError,
} from '../core/errors.ts';

/** Stable problem type URIs; documented in the README. */
export const PROBLEM_BASE = 'https://sms-gateway.dev/problems/';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldIssue[];
  jurisdiction?: string;
  endpoint?: string;
}

export interface ProblemResponse {
  status: number;
  body: ProblemBody;
  headers?: Record<string, string>;
}

export function problem(
  slug: string,
  title: string,
  status: number,
  detail?: string,
  errors?: FieldIssue[],
): ProblemBody {
  return {
    type: PROBLEM_BASE + slug,
    title,
    status,
    ...(detail === undefined ? {} : { detail }),
    ...(errors === undefined ? {} : { errors }),
  };
}

/** Each refusal's problem type and HTTP status: documented in the README. */
export const REFUSALS: Record<RefusalReason, { slug: string; title: string; status: number }> = {
  opted_out: { slug: 'recipient-opted-out', title: 'The recipient opted out.', status: 422 },
  blocked: {
    slug: 'recipient-blocked',
    title: 'The recipient blocked every message from this gateway.',
    status: 422,
  },
  consent_required: {
    slug: 'consent-required',
    title: "Promotional messages need the recipient's consent.",
    status: 422,
  },
  sender_not_approved: {
    slug: 'sender-id-not-approved',
    title: 'The sender ID is not approved.',
    status: 422,
  },
  country_not_allowed: {
    slug: 'country-not-allowed',
    title: 'This account may not send to that country.',
    status: 422,
  },
  flood_limit: { slug: 'recipient-flood-limit', title: 'Too many messages to this recipient.', status: 429 },
  monthly_cap: { slug: 'monthly-cap-reached', title: "The account's monthly cap is reached.", status: 403 },
};

export function refusalProblem(error: SendRefusedError): ProblemResponse {
  const r = REFUSALS[error.reason];
  return {
    status: r.status,
    body: problem(
      r.slug,
      r.title,
      r.status,
      error.message,
      error.issues.length > 0 ? error.issues : undefined,
    ),
    ...(error.retryAfterSeconds === undefined
      ? {}
      : { headers: { 'retry-after': String(error.retryAfterSeconds) } }),
  };
}

/**
 * The one place where errors become HTTP. Only DomainErrors say what went wrong; anything else
 * is a 500 whose body carries nothing from the error (the log has it).
 */
const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
  'KMSThrottlingException',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * An AWS dependency that throttled or failed on its side after the SDK's own retries (DynamoDB,
 * KMS, SQS), or could not be reached: the client should retry, so 503 with Retry-After, never a
 * 500. The SDK marks these with `$retryable` / `$fault: 'server'`.
 */
function dependencyUnavailable(
  error: unknown,
): { throttled: boolean; retryAfterSeconds: number } | undefined {
  const e = error as {
    name?: string;
    code?: string;
    $fault?: string;
    $retryable?: { throttling?: boolean };
  } | null;
  if (!e || typeof e !== 'object') return undefined;
  if (THROTTLING.has(e.name ?? '') || e.$retryable?.throttling)
    return { throttled: true, retryAfterSeconds: 1 };
  if (e.$fault === 'server' || NETWORK.has(e.code ?? '') || e.name === 'TimeoutError') {
    return { throttled: false, retryAfterSeconds: 2 };
  }
  return undefined;
}

/**
 * Stored content that does not open: 410, because it is gone for this caller and asking again
 * gives the same answer (a 5xx would invite retries, and the request itself is sound, so no
 * other 4xx fits). The item's metadata is still listed, marked `unreadable`.
 */
function unreadableProblem(error: UnreadableError): ProblemResponse {
  if (error.resource === 'message' && error.id !== undefined) {
    return {
      status: 410,
      body: problem(
        'message-unreadable',
        "The message's content cannot be read.",
        410,
        `The stored recipient, reference and body of message ${error.id} do not open under this account's key: they were damaged, or are not this account's. Asking again gives the same answer. The message's status and other metadata are still listed by GET /v1/messages, marked "unreadable": true; DELETE /v1/messages/${error.id}/body removes its body. Quote the message id to support.`,
      ),
    };
  }
  return {
    status: 410,
    body: problem(
      'data-unreadable',
      'Stored data cannot be read.',
      410,
      "Stored data this request needs does not open under this account's key: it was damaged, or is not this account's. Asking again gives the same answer; contact support.",
    ),
  };
}

export function toProblem(error: unknown): ProblemResponse {
  if (error instanceof ValidationError) {
    return {
      status: 422,
      body: problem('validation-error', 'Your request has invalid fields.', 422, error.message, error.issues),
    };
  }
  if (error instanceof MalformedRequestError) {
    return {
      status: 400,
      body: problem('malformed-request', 'The request could not be read.', 400, error.message),
    };
  }
  if (error instanceof UnauthorizedError) {
    return {
      status: 401,
      body: problem('unauthorized', 'A valid API key is required.', 401, error.message),
      headers: { 'www-authenticate': 'Bearer' },
    };
  }
  if (error instanceof ForbiddenError) {
    return { status: 403, body: problem('forbidden', 'This API key may not do that.', 403, error.message) };
  }
  if (error instanceof NotFoundError) {
    return { status: 404, body: problem('not-found', 'Not found.', 404, error.message) };
  }
  if (error instanceof IdempotencyConflictError) {
    return {
      status: 422,
      body: problem(
        'idempotency-key-reused',
        'Idempotency-Key reused with another request.',
        422,
        error.message,
      ),
    };
  }
  if (error instanceof IdempotencyInProgressError) {
    return {
      status: 409,
      body: problem(
        'idempotency-in-progress',
        'The original request is still in progress.',
        409,
        error.message,
      ),
      headers: { 'retry-after': '1' },
    };
  }
  if (error instanceof MisdirectedError) {
    return {
      status: 421,
      body: {
        ...problem(
          'residency-misdirected',
          "Send this to the recipient's jurisdiction.",
          421,
          error.message,
          error.issues.length > 0 ? error.issues : undefined,
        ),
        jurisdiction: error.jurisdiction,
        ...(error.endpoint ? { endpoint: error.endpoint } : {}),
      },
    };
  }
  if (error instanceof SendRefusedError) return refusalProblem(error);
  if (error instanceof RateLimitedError) {
    return {
      status: 429,
      body: problem('rate-limited', 'Too many requests.', 429, error.message),
      headers: { 'retry-after': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof ConflictError) {
    return {
      status: 409,
      body: problem(error.slug, 'This conflicts with what is recorded.', 409, error.message),
    };
  }
  if (error instanceof VerificationFailedError) {
    return {
      status: 422,
      body: problem('verification-failed', 'The code could not be verified.', 422, error.message),
    };
  }
  if (error instanceof UnreadableError) return unreadableProblem(error);
  if (error instanceof ServiceUnavailableError) {
    return {
      status: 503,
      body: problem('service-unavailable', 'Temporarily unavailable.', 503, error.message),
      headers: { 'retry-after': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof DomainError) {
    return { status: 400, body: problem('bad-request', 'The request was refused.', 400, error.message) };
  }
  const unavailable = dependencyUnavailable(error);
  if (unavailable) {
    return {
      status: 503,
      body: problem(
        'service-unavailable',
        'Temporarily unavailable.',
        503,
        unavailable.throttled
          ? 'A storage or key service is throttling requests; retry after the time given.'
          : 'A storage or key service is not answering; retry after the time given.',
      ),
      headers: { 'retry-after': String(unavailable.retryAfterSeconds) },
    };
  }
  return { status: 500, body: problem('internal-error', 'Something went wrong on our side.', 500) };
}
