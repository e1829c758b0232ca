import {
  DomainError,
  type FieldIssue,
  type ProblemSpec,
  type SendRefusedError,
  unavailable,
} from '../core/errors.ts';
import type { Jurisdiction } from '../core/model.ts';

/** Stable problem type URIs; documented in the README. */
export const PROBLEM_BASE = 'https://sms-gateway.dev/problems/';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldIssue[];
  jurisdiction?: Jurisdiction;
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

/** The problem of a refusal (also each refused item of a batch). */
export function refusalProblem(error: SendRefusedError): ProblemResponse {
  return specResponse(error.problem, error.message);
}

/** A problem as an error class states it, with the error's message as its detail unless it says otherwise. */
export function specResponse(spec: ProblemSpec, message: string): ProblemResponse {
  return {
    status: spec.status,
    body: {
      ...problem(spec.type, spec.title, spec.status, spec.detail ?? message, spec.errors),
      ...spec.extensions,
    },
    ...(spec.headers ? { headers: spec.headers } : {}),
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

export function toProblem(error: unknown): ProblemResponse {
  // Every error the gateway raises on purpose says how it answers (layers/core/errors.ts).
  if (error instanceof DomainError) return specResponse(error.problem, error.message);
  const down = dependencyUnavailable(error);
  if (down) {
    const detail = down.throttled
      ? 'A storage or key service is throttling requests; retry after the time given.'
      : 'A storage or key service is not answering; retry after the time given.';
    return specResponse(unavailable(down.retryAfterSeconds, detail), detail);
  }
  return { status: 500, body: problem('internal-error', 'Something went wrong on our side.', 500) };
}
