import type { Jurisdiction } from './model.ts';

/** A field-level reason for refusing input, naming where in the request it applies. */
export interface FieldIssue {
  /** JSON Pointer into the request body (RFC 6901), for body fields. */
  pointer?: string;
  /** Query or path parameter name, for parameters. */
  parameter?: string;
  /** Header name, for headers. */
  header?: string;
  detail: string;
}

/**
 * How an error answers over HTTP (RFC 9457 problem details): each error class says it, and one
 * mapper (`layers/http/problems.ts`) serves every function and every item of a batch.
 */
export interface ProblemSpec {
  status: number;
  /** The problem type's slug, under the documented base URI (the README lists them). */
  type: string;
  title: string;
  /** Defaults to the error's message. */
  detail?: string;
  /** Field-level reasons. */
  errors?: FieldIssue[];
  /** Members beside RFC 9457's (a misdirected request's jurisdiction and endpoint). */
  extensions?: { jurisdiction: Jurisdiction; endpoint?: string };
  headers?: Record<string, string>;
}

/** Base class of every error the core raises on purpose; each says how it answers over HTTP. */
export class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }

  /** A refusal no subclass describes better. */
  get problem(): ProblemSpec {
    return { status: 400, type: 'bad-request', title: 'The request was refused.' };
  }
}

const retryAfter = (seconds: number) => ({ 'retry-after': String(seconds) });

/** A dependency is down for now: 503 with Retry-After, whatever the dependency (table, queue, KMS, carrier). */
export const unavailable = (retryAfterSeconds: number, detail?: string): ProblemSpec => ({
  status: 503,
  type: 'service-unavailable',
  title: 'Temporarily unavailable.',
  ...(detail === undefined ? {} : { detail }),
  headers: retryAfter(retryAfterSeconds),
});

export class ValidationError extends DomainError {
  constructor(
    readonly issues: FieldIssue[],
    message = `${issues.length === 1 ? '1 field is' : `${issues.length} fields are`} invalid; see 'errors'.`,
  ) {
    super(message);
  }

  override get problem(): ProblemSpec {
    return {
      status: 422,
      type: 'validation-error',
      title: 'Your request has invalid fields.',
      errors: this.issues,
    };
  }
}

export class MalformedRequestError extends DomainError {
  override get problem(): ProblemSpec {
    return { status: 400, type: 'malformed-request', title: 'The request could not be read.' };
  }
}

export class UnauthorizedError extends DomainError {
  override get problem(): ProblemSpec {
    return {
      status: 401,
      type: 'unauthorized',
      title: 'A valid API key is required.',
      headers: { 'www-authenticate': 'Bearer' },
    };
  }
}

export class ForbiddenError extends DomainError {
  constructor(readonly requiredScope: string) {
    super(`This API key lacks the '${requiredScope}' scope.`);
  }

  override get problem(): ProblemSpec {
    return { status: 403, type: 'forbidden', title: 'This API key may not do that.' };
  }
}

export class NotFoundError extends DomainError {
  constructor(
    readonly resource: string,
    readonly id: string,
    /**
     * A jurisdiction the id may belong to that this endpoint did not search (EU data at the
     * global endpoint): a forward tenant's read is relayed there; otherwise this region's audit
     * entry withholds the id.
     */
    readonly notSearched?: 'global' | 'eu',
  ) {
    super(`No ${resource} with id '${id}'.`);
  }

  override get problem(): ProblemSpec {
    return { status: 404, type: 'not-found', title: 'Not found.' };
  }
}

export class IdempotencyConflictError extends DomainError {
  constructor() {
    super('This Idempotency-Key was already used with a different request.');
  }

  override get problem(): ProblemSpec {
    return {
      status: 422,
      type: 'idempotency-key-reused',
      title: 'Idempotency-Key reused with another request.',
    };
  }
}

export class IdempotencyInProgressError extends DomainError {
  constructor() {
    super('A request with this Idempotency-Key is still being processed.');
  }

  override get problem(): ProblemSpec {
    return {
      status: 409,
      type: 'idempotency-in-progress',
      title: 'The original request is still in progress.',
      headers: retryAfter(1),
    };
  }
}

/**
 * Stored content that does not open under its tenant's key: damaged, or sealed for another
 * tenant or item (a copied blob). Retrying does not help; the item's plain metadata is intact,
 * and lists and exports carry on with the item marked `unreadable`.
 */
export class UnreadableError extends DomainError {
  constructor(
    /** What could not be read: a `message`, or another sealed record (its purpose). */
    readonly resource: string,
    readonly id?: string,
    options?: ErrorOptions,
  ) {
    super(
      id === undefined
        ? `Stored ${resource} data does not open under this account's key.`
        : `The stored content of ${resource} ${id} does not open under this account's key.`,
      options,
    );
  }

  /**
   * 410: the content is gone for this caller and asking again gives the same answer (a 5xx
   * would invite retries, and the request itself is sound, so no other 4xx fits).
   */
  override get problem(): ProblemSpec {
    if (this.resource === 'message' && this.id !== undefined) {
      return {
        status: 410,
        type: 'message-unreadable',
        title: "The message's content cannot be read.",
        detail: `The stored recipient, reference and body of message ${this.id} do not open under this account's key: they were damaged, or are not this account's. Asking again gives the same answer. The message's status and other metadata are still listed by GET /v1/messages, marked "unreadable": true; DELETE /v1/messages/${this.id}/body removes its body. Quote the message id to support.`,
      };
    }
    return {
      status: 410,
      type: 'data-unreadable',
      title: 'Stored data cannot be read.',
      detail:
        "Stored data this request needs does not open under this account's key: it was damaged, or is not this account's. Asking again gives the same answer; contact support.",
    };
  }
}

/**
 * The key service refused to unwrap a data key for good: not a ciphertext of that key, an
 * encryption context that does not match (another tenant's), or a key that can no longer
 * decrypt. Unlike throttling or an outage, asking again gives the same answer.
 */
export class CiphertextRefusedError extends DomainError {
  override get problem(): ProblemSpec {
    return new UnreadableError('stored').problem;
  }
}

/** A dependency (queue, table) is unavailable for now; the client may retry. */
export class ServiceUnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  override get problem(): ProblemSpec {
    return unavailable(this.retryAfterSeconds);
  }
}

/** The carrier refused the message for good (bad number, blocked content): do not retry. */
export class CarrierRejectedError extends DomainError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** The carrier's own words stay in the log: the caller learns its code only. */
  override get problem(): ProblemSpec {
    return {
      status: 422,
      type: 'carrier-rejected',
      title: 'The carrier refused the message.',
      detail: `The carrier refused to deliver to this number (${this.code}).`,
    };
  }
}

/** The carrier could not take the message now (5xx, timeout): retry later. */
export class CarrierUnavailableError extends DomainError {
  override get problem(): ProblemSpec {
    return unavailable(5, 'The carrier is not answering; retry after the time given.');
  }
}

/**
 * The carrier did not answer in time: it may or may not have taken the message. Retried like
 * any unavailability, after the queue's visibility timeout, by which time a receipt from a
 * carrier that did take it has ended the message (and the retry sends nothing).
 */
export class CarrierTimeoutError extends CarrierUnavailableError {}

/**
 * The carrier refused the message for now because it was sent faster than the origination
 * identity's or the account's rate allows (EUM's ThrottlingException). Nothing was sent: the
 * message waits and goes again, without counting as a failed attempt.
 */
export class CarrierThrottledError extends DomainError {
  /** Reaching a caller (a one-time code), it is an outage of a second. */
  override get problem(): ProblemSpec {
    return unavailable(1, 'The carrier is taking messages more slowly just now; retry after the time given.');
  }
}

/** A message is being dispatched by another worker; its queue record should come back later. */
export class DispatchBusyError extends DomainError {
  override get problem(): ProblemSpec {
    return unavailable(1);
  }
}

/**
 * The request concerns data subjects of another jurisdiction and the tenant's strict residency
 * forbids this region to process it: send it to that jurisdiction's endpoint instead.
 */
export class MisdirectedError extends DomainError {
  constructor(
    readonly jurisdiction: Jurisdiction,
    readonly endpoint: string | undefined,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }

  override get problem(): ProblemSpec {
    return {
      status: 421,
      type: 'residency-misdirected',
      title: "Send this to the recipient's jurisdiction.",
      ...(this.issues.length > 0 ? { errors: this.issues } : {}),
      extensions: { jurisdiction: this.jurisdiction, ...(this.endpoint ? { endpoint: this.endpoint } : {}) },
    };
  }
}

/** Why the gateway refuses to send a message; each has its own problem type. */
export type RefusalReason =
  | 'opted_out'
  | 'blocked'
  | 'consent_required'
  | 'sender_not_approved'
  | 'country_not_allowed'
  | 'flood_limit'
  | 'monthly_cap';

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

/** A message the gateway will not send, said explicitly: never dropped in silence. */
export class SendRefusedError extends DomainError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly issues: FieldIssue[] = [],
    /** For limits that lift by themselves (flood): when to try again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  override get problem(): ProblemSpec {
    const r = REFUSALS[this.reason];
    return {
      status: r.status,
      type: r.slug,
      title: r.title,
      ...(this.issues.length > 0 ? { errors: this.issues } : {}),
      ...(this.retryAfterSeconds === undefined ? {} : { headers: retryAfter(this.retryAfterSeconds) }),
    };
  }
}

/** Too many requests: the client may retry after the given time. */
export class RateLimitedError extends DomainError {
  constructor(
    readonly retryAfterSeconds: number,
    message = `Too many requests; retry after ${retryAfterSeconds} s.`,
  ) {
    super(message);
  }

  override get problem(): ProblemSpec {
    return {
      status: 429,
      type: 'rate-limited',
      title: 'Too many requests.',
      headers: retryAfter(this.retryAfterSeconds),
    };
  }
}

/** A request that conflicts with recorded state (e.g. removing an opt-out without a newer consent). */
export class ConflictError extends DomainError {
  constructor(
    readonly slug: string,
    message: string,
  ) {
    super(message);
  }

  override get problem(): ProblemSpec {
    return { status: 409, type: this.slug, title: 'This conflicts with what is recorded.' };
  }
}

/** A one-time code that is wrong, used up or expired: one answer for all three, so nothing leaks. */
export class VerificationFailedError extends DomainError {
  constructor() {
    super('The code is wrong or has expired. Start again to get a new one.');
  }

  override get problem(): ProblemSpec {
    return { status: 422, type: 'verification-failed', title: 'The code could not be verified.' };
  }
}
