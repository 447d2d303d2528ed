/**
 * Every failure of a state adapter is a {@link StateError} with one of these stable codes.
 * Services map `ERR_STATE_UNAVAILABLE` and `ERR_STATE_CAPACITY_EXCEEDED` to 503: the request was
 * fine, the shared state was not there to check it, so it must not proceed. Bad arguments
 * (programmer errors) throw `TypeError` instead.
 */
export const STATE_ERROR_CODES = [
  // The backing store (Redis) could not be reached, timed out or refused the command.
  "ERR_STATE_UNAVAILABLE",
  // An in-process store is full of live entries and refuses new ones rather than forget any.
  "ERR_STATE_CAPACITY_EXCEEDED",
  // A record read from the shared store is not one this version understands. Where a listener
  // can be told it is skipped (revocations); where the answer depends on it, the read fails
  // (a service-provider key).
  "ERR_STATE_RECORD_INVALID",
] as const;

export type StateErrorCode = (typeof STATE_ERROR_CODES)[number];

/** The one coded error type of `@agentauth/state`. */
export class StateError extends Error {
  override readonly name = "StateError";
  readonly code: StateErrorCode;

  constructor(code: StateErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Narrowing helper: `isStateError(e, "ERR_STATE_UNAVAILABLE")`. */
export function isStateError(error: unknown, code?: StateErrorCode): error is StateError {
  return error instanceof StateError && (code === undefined || error.code === code);
}
