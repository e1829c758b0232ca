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

/** Base class of every error the core raises on purpose; mapped to HTTP in one place. */
export class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  constructor(
    readonly issues: FieldIssue[],
    message = `${issues.length === 1 ? '1 field is' : `${issues.length} fields are`} invalid; see 'errors'.`,
  ) {
    super(message);
  }
}

export class MalformedRequestError extends DomainError {}

export class UnauthorizedError extends DomainError {}

export class ForbiddenError extends DomainError {
  constructor(readonly requiredScope: string) {
    super(`This API key lacks the '${requiredScope}' scope.`);
  }
}

export class NotFoundError extends DomainError {
  constructor(
    readonly resource: string,
    readonly id: string,
    /**
     * A jurisdiction the id may belong to that this endpoint did not search (a strict tenant's
     * EU data at the global endpoint): the call's audit entry is kept there, not here.
     */
    readonly notSearched?: 'global' | 'eu',
  ) {
    super(`No ${resource} with id '${id}'.`);
  }
}

export class IdempotencyConflictError extends DomainError {
  constructor() {
    super('This Idempotency-Key was already used with a different request.');
  }
}

export class IdempotencyInProgressError extends DomainError {
  constructor() {
    super('A request with this Idempotency-Key is still being processed.');
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
}

/**
 * The key service refused to unwrap a data key for good: not a ciphertext of that key, an
 * encryption context that does not match (another tenant's), or a key that can no longer
 * decrypt. Unlike throttling or an outage, asking again gives the same answer.
 */
export class CiphertextRefusedError extends DomainError {}

/** A dependency (queue, table) is unavailable for now; the client may retry. */
export class ServiceUnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
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
}

/** The carrier could not take the message now (5xx, timeout): retry later. */
export class CarrierUnavailableError extends DomainError {}

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
export class CarrierThrottledError extends DomainError {}

/** A message is being dispatched by another worker; its queue record should come back later. */
export class DispatchBusyError extends DomainError {}

/**
 * The request concerns data subjects of another jurisdiction and the tenant's strict residency
 * forbids this region to process it: send it to that jurisdiction's endpoint instead.
 */
export class MisdirectedError extends DomainError {
  constructor(
    readonly jurisdiction: string,
    readonly endpoint: string | undefined,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
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
}

/** Too many requests: the client may retry after the given time. */
export class RateLimitedError extends DomainError {
  constructor(
    readonly retryAfterSeconds: number,
    message = `Too many requests; retry after ${retryAfterSeconds} s.`,
  ) {
    super(message);
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
}

/** A one-time code that is wrong, used up or expired: one answer for all three, so nothing leaks. */
export class VerificationFailedError extends DomainError {
  constructor() {
    super('The code is wrong or has expired. Start again to get a new one.');
  }
}
