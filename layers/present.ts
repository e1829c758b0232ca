/**
 * A value the code knows is there although its type says it may be missing: a field that an AWS
 * SDK response types as optional but a successful call always returns (CreateQueue's QueueUrl),
 * a regular expression group that always takes part in a match. Returned as it is, or a
 * MissingValueError naming what was missing, where a non-null assertion (`!`) would fail later
 * and elsewhere with "Cannot read properties of undefined".
 */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new MissingValueError(what);
  return value;
}

/** A value the code relied on was missing: a bug or an unexpected answer from a dependency, never bad input. */
export class MissingValueError extends Error {
  constructor(readonly what: string) {
    super(`${what} is missing`);
    this.name = 'MissingValueError';
  }
}
