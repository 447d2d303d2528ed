/** An RFC 9457 problem from the registry (or a network failure), with its stable `code`. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  /** `ERR_…` from the registry; `ERR_NETWORK` when no answer came back. */
  readonly code: string;
  /** `ERR_WEBAUTHN_FAILED`'s `reason`, `ERR_GRANT_WIDENED`'s path…, when the problem has one. */
  readonly reason: string | undefined;
  readonly requestId: string | undefined;

  constructor(
    message: string,
    options: { status: number; code: string; reason?: string; requestId?: string },
  ) {
    super(message);
    this.status = options.status;
    this.code = options.code;
    this.reason = options.reason;
    this.requestId = options.requestId;
  }
}

export function isApiError(error: unknown, code?: string): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

/** What to tell the human about a failed call: the registry's own words, plus a request id. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiError) {
    const suffix = error.status >= 500 && error.requestId ? ` (request ${error.requestId})` : "";
    return `${error.message}${suffix}`;
  }
  return error instanceof Error ? error.message : "Something went wrong";
}
