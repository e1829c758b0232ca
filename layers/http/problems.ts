import {
  DomainError,
  type FieldIssue,
  ForbiddenError,
  IdempotencyConflictError,
  IdempotencyInProgressError,
  MalformedRequestError,
  MisdirectedError,
  NotFoundError,
  ServiceUnavailableError,
  UnauthorizedError,
  ValidationError,
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

/**
 * The one place where errors become HTTP. Only DomainErrors say what went wrong; anything else
 * is a 500 whose body carries nothing from the error (the log has it).
 */
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
  return { status: 500, body: problem('internal-error', 'Something went wrong on our side.', 500) };
}
